package sqlassign_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// newOn returns an Assigner from New on db with a fresh group, dropped at cleanup.
func newOn(t *testing.T, db *sql.DB, dialect string) *sqlassign.Assigner {
	t.Helper()
	a, err := sqlassign.New(t.Context(), db, dialect, sqlassign.Options{Group: group()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Drop(context.Background()); err != nil {
			t.Errorf("Drop: %v", err)
		}
		a.Close()
	})
	return a
}

// TestNewPostgres runs the conformance suite on Assigners made by New from the application's own
// pool (pgx's database/sql driver), and checks that Close leaves the pool open.
func TestNewPostgres(t *testing.T) {
	db, err := sql.Open("pgx", postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(20)           // the application's own limit; the pool fill would open one per acquirer
	t.Cleanup(func() { db.Close() }) // after the groups' cleanups
	leasetest.Run(t, leasetest.Backend{New: func(t *testing.T) snowfall.Assigner { return newOn(t, db, "postgres") }})
	a := newOn(t, db, "postgresql")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(t.Context()); err != nil {
		t.Errorf("the caller's pool after Close: %v", err)
	}
}

// TestNewMySQL: New takes a MySQL pool whose DSN sets clientFoundRows, keeps a lease on it, and
// refuses one whose DSN does not (its renewals would look lost whenever they change nothing).
func TestNewMySQL(t *testing.T) {
	db, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test?clientFoundRows=true")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the group's cleanup
	a := newOn(t, db, "mysql")
	l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	time.Sleep(350 * time.Millisecond)
	if st := l.Lease(); st.Renewals == 0 || st.State != "held" {
		t.Errorf("after 3.5 probes: %+v, want renewals and held", st)
	}
	plain, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := sqlassign.New(t.Context(), plain, "mariadb", sqlassign.Options{Group: group()}); err == nil || !strings.Contains(err.Error(), "clientFoundRows=true") {
		t.Errorf("New on a pool without clientFoundRows: got %v, want an error naming clientFoundRows=true", err)
	}
}

func TestNewErrors(t *testing.T) {
	db, err := sql.Open("pgx", postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name, dialect, group, want string
		db                         *sql.DB
	}{
		{"nil db", "postgres", "", "nil *sql.DB", nil},
		{"unknown dialect", "oracle", "", `unknown dialect "oracle" (want postgres, mysql or sqlite)`, db},
		{"bad group", "postgres", "Bad-Group", `group "Bad-Group"`, db},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sqlassign.New(t.Context(), tc.db, tc.dialect, sqlassign.Options{Group: tc.group})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestUnixSockets opens the local servers through their unix sockets, by URL and by PostgreSQL's
// keyword DSN, and holds a lease on each. SNOWFALL_TEST_PG_SOCKET_DIR and
// SNOWFALL_TEST_MYSQL_SOCKET override the Debian defaults.
func TestUnixSockets(t *testing.T) {
	pg := envOr("SNOWFALL_TEST_PG_SOCKET_DIR", "/var/run/postgresql")
	my := envOr("SNOWFALL_TEST_MYSQL_SOCKET", "/run/mysqld/mysqld.sock")
	for _, tc := range []struct{ name, url string }{
		{"postgres URL", "postgres:///test?host=" + pg + "&user=postgres"},
		{"postgres keyword DSN", "host=" + pg + " user=postgres dbname=test"},
		{"mysql socket", "mysql://root@/test?socket=" + my},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := sqlassign.CheckURL(tc.url, ""); err != nil {
				t.Fatalf("CheckURL(%q): %v", tc.url, err)
			}
			a := open(t, tc.url, group())
			l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Next(); err != nil {
				t.Errorf("Next: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestKeywordDSNPasswordRedacted(t *testing.T) {
	_, err := sqlassign.Open(t.Context(), "host=127.0.0.1 port=1 user=u password=hunter2 dbname=test connect_timeout=2", sqlassign.Options{})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("got %v, want an error without the password", err)
	}
	if err := sqlassign.CheckURL("host=/tmp port=notaport", ""); err == nil {
		t.Errorf("CheckURL of a keyword DSN with a bad port: no error")
	}
}
