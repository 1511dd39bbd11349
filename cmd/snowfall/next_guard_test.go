package main

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// tempState returns the path of a state file (not yet made) in a directory of its own.
func tempState(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "state")
}

// TestNextNeedsAGuard: next issues only under a state file's lock or a lease, as serve does. Node
// values alone (next used generator 0, or the given one, with nothing to keep two runs apart) are
// a usage error naming the ways out.
func TestNextNeedsAGuard(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"nothing", nil, []string{"next"}, "give --generator (or --dc and --worker) with --state-file PATH, or --db URL"},
		{"generator alone", nil, []string{"next", "--generator", "9"}, "two runs of next (or next beside a server) can issue the same IDs"},
		{"dc and worker alone", nil, []string{"next", "--layout", "twitter", "--dc", "1", "--worker", "2"}, "--state-file PATH"},
		{"generator from env", map[string]string{"SNOWFALL_GENERATOR": "3"}, []string{"next", "-n", "2"}, "--state-file PATH"},
		{"state file without node", nil, []string{"next", "--state-file", filepath.Join(dir, "s")}, "--state-file is for static node values: it needs --generator"},
		{"db and generator", nil, []string{"next", "--db", "sqlite://" + filepath.Join(dir, "l.db"), "--generator", "1"}, "excludes --generator"},
		{"db and state file", nil, []string{"next", "--db", "sqlite://" + filepath.Join(dir, "l.db"), "--state-file", filepath.Join(dir, "s")}, "excludes --db"},
		{"group without db", nil, []string{"next", "--group", "g", "--generator", "1", "--state-file", filepath.Join(dir, "s")}, "--group and --db-timeout need --db"},
		{"trust without state file", nil, []string{"next", "--db", "sqlite://" + filepath.Join(dir, "l.db"), "--trust-fs-locks"}, "--trust-fs-locks is about the state file's filesystem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tc.env, tc.args...)
			if code != 2 || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing printed, and %q", code, out, errs, tc.want)
			}
		})
	}
}

// TestNextRunsNeverShareIDs: two runs of next at once on one state file, or on one lease
// database, never print the same ID: the second run on a state file kept by the first is refused
// (in use, exit 1) or runs after it, above its mark; two runs on a lease database hold different
// generator ids or run one after the other.
func TestNextRunsNeverShareIDs(t *testing.T) {
	for _, guard := range []struct {
		name string
		args []string
	}{
		{"state file", []string{"--generator", "7", "--state-file", tempState(t)}},
		{"lease", []string{"--db", "sqlite://" + filepath.Join(t.TempDir(), "leases.db")}},
	} {
		t.Run(guard.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var codes [2]int
			var outs, errs [2]string
			for i := range 2 {
				wg.Go(func() {
					codes[i], outs[i], errs[i] = runCmd(t, "", nil, append([]string{"next", "-n", "200000"}, guard.args...)...)
				})
			}
			wg.Wait()
			seen := map[string]bool{}
			shared, printed := 0, 0
			for i := range 2 {
				switch {
				case codes[i] == 0:
				case codes[i] == 1 && strings.Contains(errs[i], "in use"):
					continue
				default:
					t.Fatalf("run %d: exit %d, stderr %q", i, codes[i], errs[i])
				}
				for _, s := range strings.Fields(outs[i]) {
					if _, err := snowfall.ParseID(s); err != nil {
						t.Fatalf("run %d printed %q", i, s)
					}
					printed++
					if seen[s] {
						shared++
					}
					seen[s] = true
				}
			}
			t.Logf("exits %v, %d IDs printed, %d shared", codes, printed, shared)
			if printed == 0 {
				t.Fatal("neither run printed IDs")
			}
			if shared > 0 {
				t.Errorf("%d IDs printed by both runs", shared)
			}
		})
	}
}

// TestNextBesideServe: next on the state file a server keeps is refused (in use), with exit 1.
func TestNextBesideServe(t *testing.T) {
	state := tempState(t)
	startServe(t, nil, "--generator", "4", "--state-file", state)
	code, out, errs := runCmd(t, "", nil, "next", "--generator", "4", "--state-file", state)
	if code != 1 || out != "" || !strings.Contains(errs, "in use") || !strings.Contains(errs, state) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing printed, the file named and in use", code, out, errs)
	}
}

// TestTrustFSLocksFlag: --trust-fs-locks (or SNOWFALL_TRUST_FS_LOCKS) is about a state file: alone
// it is a usage error naming where it came from; with a state file on this machine's local disk
// the server starts as without it.
func TestTrustFSLocksFlag(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"serve", "--generator", "1", "--trust-fs-locks"}, "--trust-fs-locks is about the state file's filesystem"},
		{map[string]string{"SNOWFALL_TRUST_FS_LOCKS": "true"}, []string{"serve", "--generator", "1"}, "SNOWFALL_TRUST_FS_LOCKS is about"},
		{map[string]string{"SNOWFALL_TRUST_FS_LOCKS": "true"}, []string{"next", "--db", "sqlite://" + filepath.Join(t.TempDir(), "l.db")}, "SNOWFALL_TRUST_FS_LOCKS is about"},
	} {
		code, _, errs := runCmd(t, "", c.env, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want 2 and %q", c.env, c.args, code, errs, c.want)
		}
	}
	s := startServe(t, nil, "--generator", "2", "--state-file", tempState(t), "--trust-fs-locks")
	cmdtest.WaitReady(t, s.URL) // a state file's start waits statefile.StartWait
	if code, body := cmdtest.Get(t, s.URL+"/ids?n=3"); code != 200 || len(strings.Fields(body)) != 3 {
		t.Errorf("/ids?n=3 with --trust-fs-locks: %d %q", code, body)
	}
}
