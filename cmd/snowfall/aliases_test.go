//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/testkit/aliases"
)

// common pulls rounds batches of n IDs from a and b at the same time and returns how many IDs
// both issued, of how many pulled.
func common(t *testing.T, a, b *aliases.Proc, rounds, n int) (shared, total int) {
	t.Helper()
	var got [2][]int64
	var errs [2]error
	for range rounds {
		var wg sync.WaitGroup
		for i, s := range []*aliases.Proc{a, b} {
			wg.Go(func() {
				ids, err := s.Pull(context.Background(), n)
				got[i] = append(got[i], ids...)
				if errs[i] == nil {
					errs[i] = err
				}
			})
		}
		wg.Wait()
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("pull from server %d: %v", i, err)
		}
	}
	seen := map[int64]bool{}
	for _, id := range got[0] {
		seen[id] = true
	}
	for _, id := range got[1] {
		if seen[id] {
			shared++
		}
	}
	return shared, len(got[0]) + len(got[1])
}

// TestStateFileAliases (issue 18, defect 1): a second serve process reaching a state file in use
// through another spelling of its path (".." after a symlinked directory, a relative symlink whose
// target starts with "..") must be refused, and a restart through that spelling must read the
// recorded floor. The shipped guard resolved the path as text, so both servers started and issued
// the same IDs, and the restart read a missing file.
func TestStateFileAliases(t *testing.T) {
	exe := bin.Path(t)
	// tree makes a directory holding a/gen7.state's directory, a symlink dirlink to a/b, and
	// a/b/rel, a relative symlink to ../gen7.state; it returns the directory and the real path.
	tree := func(t *testing.T) (string, string) {
		base, err := filepath.EvalSymlinks(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{
			os.MkdirAll(filepath.Join(base, "a", "b"), 0o755),
			os.Symlink(filepath.Join(base, "a", "b"), filepath.Join(base, "dirlink")),
			os.Symlink("../gen7.state", filepath.Join(base, "a", "b", "rel")),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		return base, filepath.Join(base, "a", "gen7.state")
	}
	for _, c := range []struct{ name, alias string }{
		{"dotdot after a symlinked directory", "dirlink/../gen7.state"},
		{"relative symlink with dotdot in a symlinked directory", "dirlink/rel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, real := tree(t)
			alias := base + "/" + c.alias
			a, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", real)
			if err != nil {
				t.Fatalf("first server: %v", err)
			}
			defer a.Kill()
			b, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", alias)
			var refused *aliases.Refusal
			switch {
			case errors.As(err, &refused):
				if refused.Code != 1 || !strings.Contains(refused.Stderr, "in use") {
					t.Errorf("second server through %s: exit %d, stderr %q; want 1, in use", alias, refused.Code, refused.Stderr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				shared, total := common(t, a, b, 5, 20000)
				b.Kill()
				t.Errorf("second server through %s started while the first kept %s: %d IDs issued by both, of %d",
					alias, real, shared, total)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run(c.name+" restart", func(t *testing.T) {
			// A restart through the alias with its clock 5 s behind must not issue below the
			// floor the first server recorded.
			base, real := tree(t)
			alias := base + "/" + c.alias
			a, err := aliases.Start(exe, "", nil, "--generator", "7", "--state-file", real)
			if err != nil {
				t.Fatalf("first server: %v", err)
			}
			if _, err := a.Pull(context.Background(), 1000); err != nil {
				t.Fatal(err)
			}
			if err := a.Stop(); err != nil {
				t.Fatal(err)
			}
			r, err := aliases.StartListening(exe, "", nil, "--generator", "7", "--state-file", alias, "--clock-offset", "-5s")
			if err != nil {
				t.Fatalf("restart through %s: %v", alias, err)
			}
			defer r.Kill()
			if ids, err := r.Pull(context.Background(), 1); !aliases.Unavailable(err) {
				t.Errorf("restart through %s with the clock 5s behind: %v %v; want 503 (the recorded floor is ahead)", alias, ids, err)
			}
		})
	}
}

// TestUnsharedStores (issue 18, defect 3): a lease store that other processes do not share, in
// any spelling, must be refused: the shipped guard refused "sqlite::memory:", ":memory:" and
// "mode=memory" by their text, and two servers given any other spelling of a process-local
// database (or two names of one SQLite file, each with a WAL of its own, or a PostgreSQL session's
// temporary tables) both leased generator 0 and issued the same IDs.
func TestUnsharedStores(t *testing.T) {
	exe := bin.Path(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pg := postgresURL()
	for _, c := range []struct {
		name string
		a, b string // b "" for a
		link bool   // b is a hard link to a's file, made once a runs
	}{
		{name: "percent-escaped colon", a: "sqlite::memory%3A"},
		{name: "percent-escaped name", a: "sqlite:%3Amemory%3A"},
		{name: "NUL path: a temporary database", a: "sqlite:%00"},
		{name: "empty path before a fragment", a: "sqlite:#"},
		{name: "escaped mode=memory", a: "sqlite://" + dir + "/m.db?mode=memor%79"},
		{name: "memdb VFS", a: "sqlite://" + dir + "/v.db?vfs=memdb"},
		{name: "no locking", a: "sqlite://" + dir + "/n.db?nolock=1"},
		{name: "hard link to the database file", a: "sqlite://" + dir + "/h.db", b: "sqlite://" + dir + "/h2.db", link: true},
		{name: "postgres search_path=pg_temp", a: withParam(pg, "search_path=pg_temp")},
		{name: "postgres options search_path=pg_temp", a: withParam(pg, "options=-c%20search_path%3Dpg_temp")},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := []string{"--group", fmt.Sprintf("unshared%d", time.Now().UnixNano()%1e9)}
			a, err := aliases.Start(exe, dir, nil, append([]string{"--db", c.a}, group...)...)
			var refused *aliases.Refusal
			if errors.As(err, &refused) {
				if refused.Code != 2 || !strings.Contains(refused.Stderr, "not shared") {
					t.Errorf("%s: exit %d, stderr %q; want 2, not shared", c.a, refused.Code, refused.Stderr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Kill()
			b := c.b
			if b == "" {
				b = c.a
			}
			if c.link {
				if err := os.Link(dir+"/h.db", dir+"/h2.db"); err != nil {
					t.Fatal(err)
				}
			}
			second, err := aliases.Start(exe, dir, nil, append([]string{"--db", b}, group...)...)
			if errors.As(err, &refused) {
				if !strings.Contains(refused.Stderr, "not shared") {
					t.Errorf("second server: exit %d, stderr %q; want a refusal saying the store is not shared", refused.Code, refused.Stderr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer second.Kill()
			shared, total := common(t, a, second, 5, 20000)
			if shared > 0 {
				t.Errorf("two servers on %s and %s both started and issued %d IDs in common, of %d", c.a, b, shared, total)
			}
		})
	}
}

// TestServeSaysWhereUnique: a leased server says, in its log and in /stats, which servers its id
// is unique among: those sharing its store, named by the file SQLite resolved, or by the database
// URL without its password. A static server says nothing.
func TestServeSaysWhereUnique(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "real"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	const secret = "s3cr3tpw"
	pg := strings.Replace(postgresURL(), "postgres@", "postgres:"+secret+"@", 1)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"sqlite through a symlink", []string{"--db", "sqlite://" + dir + "/link/leases.db"},
			"servers sharing " + dir + "/real/leases.db"},
		{"postgres with a password", []string{"--db", pg, "--group", "uniqueamong"},
			"servers sharing " + displayOf(t, pg) + " (group uniqueamong)"},
		{"default database", nil, "servers sharing " + dir + "/state/snowfall/leases.db"},
		{"static", []string{"--generator", "3"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startLeased(t, map[string]string{"XDG_STATE_HOME": dir + "/state"}, c.args...)
			if got := getStats(t, s.URL).UniqueAmong; got != c.want {
				t.Errorf("/stats unique_among = %q, want %q", got, c.want)
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			log := s.Stderr.String()
			if c.want != "" && !strings.Contains(log, c.want) {
				t.Errorf("the log does not say %q: %s", c.want, log)
			}
			if strings.Contains(log, secret) {
				t.Errorf("the log shows the password: %s", log)
			}
		})
	}
}

// withParam adds the query parameter kv to u.
func withParam(u, kv string) string {
	if strings.Contains(u, "?") {
		return u + "&" + kv
	}
	return u + "?" + kv
}

// displayOf returns the display form of the store URL raw: without its password.
func displayOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := assignurl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}
