package sqlassign_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// TestSQLiteFileReplaced: the file a server holds its lease in must be the file at its path. A
// server whose database file is renamed away (with its write-ahead log, or the log deleted) while
// it runs went on renewing in the old file for good, while a server opening the path made a fresh
// database and leased generator 0 again: two holders of one id, the same IDs. Now every renewal
// first checks that the path (and its -wal) still name the files this server opened, and the
// holder fences at the first renewal after the change: its IDs end within about one probe.
func TestSQLiteFileReplaced(t *testing.T) {
	for _, c := range []struct {
		name  string
		apply func(t *testing.T, path string)
	}{
		{"database and its log renamed", func(t *testing.T, path string) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Rename(path+suffix, path+".moved"+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
					t.Fatal(err)
				}
			}
		}},
		{"shared-memory index deleted", func(t *testing.T, path string) {
			// The red team's F2: servers opening the path then keep another index of one log.
			if err := os.Remove(path + "-shm"); err != nil {
				t.Fatal(err)
			}
		}},
		{"log deleted", func(t *testing.T, path string) {
			for _, suffix := range []string{"-wal", "-shm"} {
				if err := os.Remove(path + suffix); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "leases.db")
			ctx := t.Context()
			const probe = 300 * time.Millisecond
			la := holding(t, "sqlite://"+path, probe)
			c.apply(t, path)
			// The holder must fence within a lease of the change (a renewal every probe; the
			// permit of the last one lasts a lease).
			fencesWithin(t, la, time.Now(), probe, "its database file changed")
			// It stays fenced: its store is not the file at its path any more.
			time.Sleep(3 * probe)
			if id, err := la.Next(); err == nil {
				t.Fatalf("Next issued %d after the holder's database file changed", id)
			}
			// A server opening the path gets the file there (or, when the log of the database
			// there was deleted, may find it unreadable: a refusal is safe), and leases from it.
			b, err := sqlassign.Open(context.Background(), "sqlite://"+path, sqlassign.Options{})
			if err != nil {
				t.Logf("a new server on the path: %v", err)
				return
			}
			defer b.Close()
			lb, err := snowfall.NewLeased(ctx, b, snowfall.LeaseSettings{Probe: probe})
			if err != nil {
				t.Fatal(err)
			}
			defer lb.Close()
			if _, err := lb.NextContext(ctx); err != nil && !errors.Is(err, snowfall.ErrFenced) {
				t.Fatalf("the new server: %v", err)
			}
		})
	}
}

// TestSQLiteLinkRepointed: a URL that reaches the file through a symbolic link to its directory
// (current -> v1) keeps naming the file the server holds only while the link points there. The red
// team's F1: after `ln -sfn v2 current`, a server started with the same URL made a fresh database
// in v2 and leased generator 0 again, while the holder, which checked only the path SQLite had
// resolved (v1/leases.db), renewed on for good: 20,000 to 57,344 common IDs. Now each check asks
// SQLite where the URL's own DSN leads, and the holder fences.
func TestSQLiteLinkRepointed(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"v1", "v2"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "current")
	if err := os.Symlink("v1", link); err != nil {
		t.Fatal(err)
	}
	url := "sqlite://" + filepath.Join(link, "leases.db")
	const probe = 300 * time.Millisecond
	la := holding(t, url, probe)
	// Re-point the link as operators do: a new link renamed over the old one.
	tmp := filepath.Join(dir, "current.new")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	fencesWithin(t, la, time.Now(), probe, "its URL came to lead to another file")
	if _, err := la.Next(); err == nil {
		t.Fatal("Next issued after the holder's URL came to lead to another file")
	}
}

// holding opens the store at u, leases a generator id with probe and issues one ID; both are
// closed when the test ends.
func holding(t *testing.T, u string, probe time.Duration) *snowfall.Leased {
	t.Helper()
	a, err := sqlassign.Open(t.Context(), u, sqlassign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	la, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { la.Close() })
	if _, err := la.Next(); err != nil {
		t.Fatal(err)
	}
	return la
}

// fencesWithin calls la.Next until it fails, for at most 5 s after changed, and fails t unless the
// failure is ErrFenced and the last ID came within two and a half probes of changed (what is why).
func fencesWithin(t *testing.T, la *snowfall.Leased, changed time.Time, probe time.Duration, what string) {
	t.Helper()
	var last time.Time
	for time.Since(changed) < 5*time.Second {
		if _, err := la.Next(); err != nil {
			if !errors.Is(err, snowfall.ErrFenced) {
				t.Fatalf("Next: %v, want ErrFenced", err)
			}
			break
		}
		last = time.Now()
		time.Sleep(time.Millisecond)
	}
	if since := last.Sub(changed); since > 2*probe+probe/2 {
		t.Fatalf("the holder went on issuing for %v after %s (a lease is %v)", since.Round(time.Millisecond), what, 2*probe)
	}
}
