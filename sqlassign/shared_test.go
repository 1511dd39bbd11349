package sqlassign_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres"
	_ "github.com/snowfall-go/snowfall/sqlassign/sqlite"
)

// withParam adds the query parameter kv to u.
func withParam(u, kv string) string {
	if strings.Contains(u, "?") {
		return u + "&" + kv
	}
	return u + "?" + kv
}

// TestOpenChecksShared (issue 18, defect 3): Open refuses every store that other processes would
// not share, whatever its spelling, with an error matching ErrNotShared that says why and holds no
// password; it accepts every spelling of a shared one, and Store names the file SQLite resolved.
func TestOpenChecksShared(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Mkdir(filepath.Join(dir, "sub"), 0o755))
	must(os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "dirlink")))
	must(os.Symlink("sub/real.db", filepath.Join(dir, "filelink.db")))
	// A file with two names: SQLite would keep a WAL for each.
	hard := filepath.Join(dir, "hard.db")
	if a, err := sqlassign.Open(t.Context(), "sqlite://"+hard, sqlassign.Options{}); err != nil {
		t.Fatal(err)
	} else {
		a.Close()
	}
	must(os.Link(hard, filepath.Join(dir, "hard2.db")))

	const secret = "s3cr3tpw"
	refused := []struct{ url, why string }{
		{"sqlite::memory:", "no file"},
		{"sqlite::memory%3A", "no file"},
		{"sqlite:%3Amemory%3A", "no file"},
		{"sqlite:%00", "no file"},
		{"sqlite:#", "no file"},
		{"sqlite://" + dir + "/m.db?mode=memory", "no file"},
		{"sqlite://" + dir + "/m.db?mode=memor%79", "no file"},
		{"sqlite://" + dir + "/m.db?cache=shared&mode=memory", "no file"},
		{"sqlite://" + dir + "/v.db?vfs=memdb", "no file"},
		{"sqlite://" + dir + "/n.db?nolock=1", "write lock"},
		{"sqlite://" + dir + "/u.db?vfs=unix-none", "write lock"},
		{"sqlite://" + dir + "/d.db?vfs=unix-dotfile", "write lock"},
		{"sqlite://" + hard, "2 hard links"},
		{"sqlite://" + dir + "/hard2.db", "2 hard links"},
	}
	// An autocommit=0 session (its tables uncommitted, seen by no other connection) is refused
	// earlier now: the URL may set no session variable but a few (sqlassign/mysql).
	if _, err := sqlassign.Open(t.Context(), withParam(mysqlURL(), "autocommit=0"), sqlassign.Options{Group: group()}); err == nil ||
		!strings.Contains(err.Error(), "session variable") {
		t.Errorf("Open(?autocommit=0): %v; want refused as a session variable", err)
	}
	for _, c := range refused {
		t.Run("refused "+c.url, func(t *testing.T) {
			a, err := sqlassign.Open(t.Context(), c.url, sqlassign.Options{Group: group()})
			if err == nil {
				a.Close()
				t.Fatalf("Open(%s): no error, want ErrNotShared", c.url)
			}
			if !errors.Is(err, sqlassign.ErrNotShared) || !strings.Contains(err.Error(), c.why) {
				t.Errorf("Open(%s): %v; want ErrNotShared saying %q", c.url, err, c.why)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}

	real := filepath.Join(dir, "sub", "real.db")
	for _, c := range []struct{ url, store string }{
		{"sqlite://" + real, real},
		{"sqlite://" + dir + "/filelink.db", real},
		{"sqlite://" + dir + "/dirlink/real.db", real},
		{"sqlite://" + dir + "/dirlink/../sub/real.db", real},
		{"sqlite://" + dir + "//sub/./real.db", real},
		{"sqlite://" + real + "?mode=rwc", real},
		{"sqlite://" + real + "?cache=shared", real},
		{postgresURL(), postgresURL()},
		// Tables named with their schema: a session's temporary tables are out of reach.
		{withParam(postgresURL(), "search_path=pg_temp"), postgresURL()},
		{withParam(postgresURL(), "options=-c%20search_path%3Dpg_temp"), postgresURL()},
		{mysqlURL(), mysqlURL()},
	} {
		t.Run("shared "+c.url, func(t *testing.T) {
			a := open(t, c.url, group())
			if got := a.Store(); got != c.store {
				t.Errorf("Store() = %q, want %q", got, c.store)
			}
		})
	}

	// With Unshared, any spelling of a database in no file opens, and keeps one connection (its
	// database lives there), whatever the spelling: every call sees the same tables.
	for _, u := range []string{"sqlite::memory:", "sqlite::memory%3A", "sqlite:%00", "sqlite://" + dir + "/u.db?vfs=memdb"} {
		t.Run("Unshared "+u, func(t *testing.T) {
			a, err := sqlassign.Open(t.Context(), u, sqlassign.Options{Unshared: true, MaxConns: 4})
			if err != nil {
				t.Fatalf("Open with Unshared: %v", err)
			}
			defer a.Close()
			if err := a.Prepare(t.Context(), 8); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 8 { // at once, so that a pool of several connections would open them
				wg.Go(func() {
					for range 5 {
						if _, err := a.Leases(t.Context()); err != nil {
							t.Errorf("Leases: %v", err)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
