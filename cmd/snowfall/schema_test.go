package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/sqlassign"
)

func TestSchemaCreateAndLeases(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"create", nil, []string{"schema", "create", "--db", db, "--group", "g", "--probe", "2s"}, 0, "2048 generator ids, probe 2s", ""},
		{"again", nil, []string{"schema", "create", "--db", db, "--group", "g", "--probe", "2s"}, 0, "snowfall_g_manifest", ""},
		{"db from env", map[string]string{"SNOWFALL_DB": db}, []string{"schema", "create", "--group", "g"}, 0, "ready", ""},
		{"other layout", nil, []string{"schema", "create", "--db", db, "--group", "g", "--layout", "twitter"}, 1, "",
			"layout time=41,dc=5,worker=5,seq=12, but the manifest records time=40,seq=12,gen=11"},
		{"future epoch", nil, []string{"schema", "create", "--db", db, "--epoch", "2999-01-01T00:00:00Z"}, 2, "", "in the future"},
		{"no subcommand", nil, []string{"schema"}, 2, "", "missing subcommand"},
		{"no db", nil, []string{"schema", "create"}, 2, "", "--db is required"},
		{"unknown scheme", nil, []string{"leases", "--db", "oracle://x/y"}, 2, "", "--db: not a valid database URL (value hidden): its scheme is not sqlite:"},
		{"bad group", nil, []string{"schema", "create", "--db", db, "--group", "no-dashes"}, 2, "", `group "no-dashes"`},
		{"help", nil, []string{"schema", "-h"}, 0, "", "-probe"},
		{"leases empty", nil, []string{"leases", "--db", db, "--group", "g"}, 0, "GENERATOR", "0 generator ids held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tc.env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr",
					tc.args, code, out, errs, tc.code, tc.out, tc.err)
			}
		})
	}
	a, err := sqlassign.Open(context.Background(), db, sqlassign.Options{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Holder: snowfall.Holder{Host: "web-7", PID: 4242}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, out, errs := runCmd(t, "", nil, "leases", "--db", db, "--group", "g")
	if code != 0 || !strings.Contains(out, "web-7") || !strings.Contains(out, "4242") || !strings.Contains(errs, "1 generator ids held") {
		t.Errorf("leases: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestSchemaCreateProbeMismatch: schema create never claims a probe the manifest does not record. On
// a group that records 5s, --probe 1s (or SNOWFALL_PROBE=1s) is refused with both values named and
// nothing changed; without --probe it prints the recorded probe (it used to print "probe 1s", or
// the default 5s, and exit 0 while the manifest kept its own).
func TestSchemaCreateProbeMismatch(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"create with 5s", nil, []string{"--probe", "5s"}, 0, "probe 5s", ""},
		{"ask for 1s", nil, []string{"--probe", "1s"}, 1, "", "records probe 5s"},
		{"ask for 1s in the environment", map[string]string{"SNOWFALL_PROBE": "1s"}, nil, 1, "", "SNOWFALL_PROBE 1s"},
		{"ask for the recorded one", nil, []string{"--probe", "5s"}, 0, "probe 5s", ""},
		{"no --probe", nil, nil, 0, "probe 5s", ""},
		{"new group, 2s", nil, []string{"--group", "two", "--probe", "2s"}, 0, "probe 2s", ""},
		{"new group, no --probe", nil, []string{"--group", "two"}, 0, "probe 2s", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tc.env, append([]string{"schema", "create", "--db", db}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr", tc.args, code, out, errs, tc.code, tc.out, tc.err)
			}
			if tc.code != 0 && strings.Contains(out, "ready") {
				t.Errorf("%v: a refused run says ready: %q", tc.args, out)
			}
		})
	}
	a, err := sqlassign.Open(context.Background(), db, sqlassign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	m, err := snowfall.ReadManifest(context.Background(), a, snowfall.Manifest{})
	if err != nil || m.Probe != 5*time.Second {
		t.Errorf("the manifest records probe %v (%v), want 5s", m.Probe, err)
	}
}
