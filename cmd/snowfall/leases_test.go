package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLeasesDefaultDB runs snowfall leases without --db: it reads the lease database that snowfall
// serve uses without --db (the state directory's leases.db, or one at the old default place), and
// when there is none it says where it looked and creates nothing.
func TestLeasesDefaultDB(t *testing.T) {
	for _, c := range []struct {
		name string
		env  func(home string) map[string]string
	}{
		{"XDG_STATE_HOME", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_STATE_HOME": filepath.Join(h, "state")}
		}},
		{"HOME only", func(h string) map[string]string { return map[string]string{"HOME": h} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			env := c.env(home)
			s := startLeased(t, env)
			st := getStats(t, s.URL)
			if st.Lease == nil {
				t.Fatalf("stats %+v: no lease", st)
			}
			code, out, errs := runCmd(t, "", env, "leases")
			if code != 0 || !strings.Contains(errs, "1 generator ids held") || !strings.Contains(out, "GENERATOR") {
				t.Errorf("leases without --db while serve holds a lease from the default database: exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
	t.Run("old default place", func(t *testing.T) {
		home := t.TempDir()
		old := filepath.Join(oldDefaultDir(envMap{"HOME": home}.get), "leases.db")
		if err := os.MkdirAll(filepath.Dir(old), 0o700); err != nil {
			t.Fatal(err)
		}
		startLeased(t, nil, "--db", "sqlite://"+old)
		code, _, errs := runCmd(t, "", map[string]string{"HOME": home}, "leases")
		if code != 0 || !strings.Contains(errs, "1 generator ids held") {
			t.Errorf("leases without --db, database at the old default place: exit %d, stderr %q", code, errs)
		}
	})
	t.Run("none", func(t *testing.T) {
		home := t.TempDir()
		state := filepath.Join(home, "state")
		code, _, errs := runCmd(t, "", map[string]string{"HOME": home, "XDG_STATE_HOME": state}, "leases")
		want := filepath.Join(state, "snowfall", "leases.db")
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("leases without --db and no default database: exit %d, stderr %q; want exit 1 naming %s", code, errs, want)
		}
		if _, err := os.Stat(state); err == nil {
			t.Errorf("leases created %s", state)
		}
	})
}

// TestServeWarnsWithoutStateFile checks the start-up warning of static node values without
// --state-file: a restart with the clock behind can repeat IDs.
func TestServeWarnsWithoutStateFile(t *testing.T) {
	const warning = "without --state-file"
	for _, c := range []struct {
		name string
		args []string
		warn bool
	}{
		{"generator", []string{"--generator", "3"}, true},
		{"dc and worker", []string{"--layout", "pysnowflake", "--dc", "1", "--worker", "2"}, true},
		{"generator with state file", []string{"--generator", "3", "--state-file", filepath.Join(t.TempDir(), "g3.state")}, false},
		{"leased", []string{"--db", "sqlite://" + filepath.Join(t.TempDir(), "leases.db")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, nil, c.args...)
			if got := strings.Contains(s.Stderr.String(), warning); got != c.warn {
				t.Errorf("serve %q: warned %v, want %v:\n%s", c.args, got, c.warn, s.Stderr.String())
			}
		})
	}
}
