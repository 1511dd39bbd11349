package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeDefaultDBPlace runs snowfall serve without node flags and without --db, and checks
// where its lease database is: the XDG state directory, never the cache directory, except for a
// database already at the old default place, which it keeps using and says so.
func TestServeDefaultDBPlace(t *testing.T) {
	for _, c := range []struct {
		name    string
		env     func(home string) map[string]string
		oldFile bool   // put a lease database at the old default place first
		want    string // relative to home
		warn    bool
	}{
		{"XDG_STATE_HOME unset", func(h string) map[string]string { return map[string]string{"HOME": h} },
			false, ".local/state/snowfall/leases.db", false},
		{"XDG_CACHE_HOME set", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_CACHE_HOME": filepath.Join(h, "cache")}
		}, false, ".local/state/snowfall/leases.db", false},
		{"XDG_STATE_HOME set", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_STATE_HOME": filepath.Join(h, "state")}
		}, false, "state/snowfall/leases.db", false},
		{"XDG_STATE_HOME relative is ignored", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_STATE_HOME": "rel"}
		}, false, ".local/state/snowfall/leases.db", false},
		{"old file in the cache directory", func(h string) map[string]string { return map[string]string{"HOME": h} },
			true, ".cache/snowfall/leases.db", true},
		// The red team's F5: with XDG_STATE_HOME set (even to its default, ~/.local/state) a server
		// took a new file while one without it kept the old one: two stores for one user. An old
		// file is used whenever the state directory has none, whatever the variables say.
		{"old file, XDG_STATE_HOME set", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_STATE_HOME": filepath.Join(h, "state")}
		}, true, ".cache/snowfall/leases.db", true},
		{"old file, XDG_STATE_HOME set to its default", func(h string) map[string]string {
			return map[string]string{"HOME": h, "XDG_STATE_HOME": filepath.Join(h, ".local", "state")}
		}, true, ".cache/snowfall/leases.db", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			home := t.TempDir()
			oldPath := filepath.Join(oldDefaultDir(envMap{"HOME": home}.get), "leases.db")
			if c.oldFile {
				if err := os.MkdirAll(filepath.Dir(oldPath), 0o700); err != nil {
					t.Fatal(err)
				}
				s := startLeased(t, nil, "--db", "sqlite://"+oldPath)
				getStats(t, s.URL)
				if err := s.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			s := startLeased(t, c.env(home))
			st := getStats(t, s.URL)
			if st.Lease == nil || st.Lease.State != "held" {
				t.Fatalf("stats %+v, want a held lease", st)
			}
			if err := s.Stop(); err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(home, c.want)
			if _, err := os.Stat(want); err != nil {
				t.Errorf("no lease database at %s: %v", want, err)
			}
			if !strings.Contains(s.Stderr.String(), "db=sqlite://"+want) {
				t.Errorf("log does not name db=sqlite://%s:\n%s", want, s.Stderr.String())
			}
			if !c.oldFile {
				if _, err := os.Stat(oldPath); err == nil {
					t.Errorf("a lease database in the cache directory: %s", oldPath)
				}
			}
			if warned := strings.Contains(s.Stderr.String(), "old default place"); warned != c.warn {
				t.Errorf("warned about the old place: %v, want %v:\n%s", warned, c.warn, s.Stderr.String())
			}
		})
	}
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }
