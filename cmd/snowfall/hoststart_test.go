package main

import (
	"path/filepath"
	"testing"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

func dbURL(t *testing.T, raw string) redact.URL {
	t.Helper()
	u, err := assignurl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestServeEmbeddedStart: snowfall serve on the embedded default store (no node flags, no --db)
// leases the generator id this host derives with the store's salt, not generator 0, and gets it
// back when it restarts on the same store; with the same file given as --db, it leases the lowest.
func TestServeEmbeddedStart(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_STATE_HOME": filepath.Join(home, "state")}
	path := filepath.Join(home, "state", "snowfall", "leases.db")
	var first int64 = -1
	for range 2 {
		s := startServe(t, env)
		cmdtest.WaitReady(t, s.URL) // it claims in the background
		st := getStats(t, s.URL)
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		if st.Lease == nil {
			t.Fatalf("stats %+v, want a lease", st)
		}
		a, err := assignurl.Open(t.Context(), dbURL(t, "sqlite://"+path), "")
		if err != nil {
			t.Fatal(err)
		}
		props, err := a.Properties(t.Context(), nil)
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		salt := props[idsource.PropStartSalt]
		if want := idsource.HostStart(salt) % 2048; salt == "" || st.Lease.ID != want {
			t.Errorf("generator %d on the embedded store, want %d, this host's start with the store's salt %q", st.Lease.ID, want, salt)
		}
		if first >= 0 && st.Lease.ID != first {
			t.Errorf("after a restart on its own store: generator %d, want %d again", st.Lease.ID, first)
		}
		first = st.Lease.ID
	}
	s := startServe(t, nil, "--db", "sqlite://"+filepath.Join(t.TempDir(), "given.db"))
	cmdtest.WaitReady(t, s.URL)
	if st := getStats(t, s.URL); st.Lease == nil || st.Lease.ID != 0 {
		t.Errorf("a store given with --db: lease %+v, want generator 0", st.Lease)
	}
}
