package sqlassign

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// TestRuntimeErrorsRedacted (issue: driver errors after Open were rendered as the driver wrote
// them): a store whose connection is killed mid-run (pg_terminate_backend, MariaDB's KILL), and on
// MariaDB whose password has changed meanwhile so that the pool cannot reconnect, fails the next
// call with an error in the project's words: the operation, the display form and the class (a
// SQLSTATE, a MySQL error number, a network failure), never the driver's message, the DSN, the
// user's name as the driver quotes it, or the password; the cause stays reachable (errors.As).
func TestRuntimeErrorsRedacted(t *testing.T) {
	ctx := t.Context()
	var b [4]byte
	rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	t.Run("postgres", func(t *testing.T) {
		a, err := Open(ctx, testdb.Postgres(), Options{Group: "rt" + suffix})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { a.Drop(context.Background()); a.Close() }()
		admin, err := sql.Open("pgx", testdb.Postgres())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		a.db.SetMaxOpenConns(1)
		a.db.SetMaxIdleConns(1)
		kill := func() {
			var pid int
			if err := a.db.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		checkRuntime(t, a, kill, nil)
	})
	t.Run("mysql", func(t *testing.T) {
		admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		user, pw := "sfrt"+suffix, "Pw"+suffix+"secret"
		for _, s := range []string{
			fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw),
			fmt.Sprintf("GRANT ALL ON test.* TO '%s'@'%%'", user),
		} {
			if _, err := admin.ExecContext(ctx, s); err != nil {
				t.Skipf("MariaDB: %v", err)
			}
		}
		defer admin.ExecContext(context.Background(), fmt.Sprintf("DROP USER '%s'@'%%'", user))
		a, err := Open(ctx, fmt.Sprintf("mysql://%s:%s@127.0.0.1:3306/test", user, pw), Options{Group: "rt" + suffix})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { a.Close() }()
		a.db.SetMaxOpenConns(1)
		a.db.SetMaxIdleConns(1)
		killed := false
		kill := func() {
			if killed {
				return // the pool cannot reconnect: every call fails
			}
			killed = true
			var id int64
			if err := a.db.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.ExecContext(ctx, fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY 'other%s'", user, suffix)); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.ExecContext(ctx, fmt.Sprintf("KILL %d", id)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		checkRuntime(t, a, kill, []string{pw, "'" + user + "'", "tcp(", "Access denied"})
		admin.ExecContext(ctx, fmt.Sprintf("ALTER USER '%s'@'%%' IDENTIFIED BY '%s'", user, pw))
	})
}

// checkRuntime kills a's connection before each call and checks the error the call returns.
func checkRuntime(t *testing.T, a *Assigner, kill func(), banned []string) {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	calls := map[string]func() error{
		"leases":     func() error { _, err := a.Leases(ctx); return err },
		"properties": func() error { _, err := a.Properties(ctx, nil); return err },
		"free":       func() error { _, err := a.Free(ctx, snowfall.FreeRequest{Size: 4, Now: now, Limit: 1}); return err },
		"renew":      func() error { return a.Renew(ctx, 1, "tok", time.Minute, now) },
		"expire":     func() error { return a.Expire(ctx, 1) },
		"raise": func() error {
			_, err := a.RaiseMarks(ctx, snowfall.RaiseRequest{Size: 4, To: now, DryRun: true})
			return err
		},
	}
	failed := 0
	for name, call := range calls {
		kill()
		err := call()
		if err == nil {
			continue // the pool reconnected unseen: nothing rendered
		}
		failed++
		msg := err.Error()
		var re *redact.Error
		if errors.Is(err, snowfall.ErrLeaseLost) {
			// The pool reconnected unseen, and the project's own answer came back.
		} else if !strings.Contains(msg, a.url) || !errors.As(err, &re) {
			t.Errorf("%s: error %q: want the display form %s and a redact.Error with its class", name, msg, a.url)
		}
		for _, w := range append(banned, "FATAL", "terminating connection", "driver: bad connection", "invalid connection", "user=", "EOF") {
			if strings.Contains(msg, w) {
				t.Errorf("%s: error %q renders %q", name, msg, w)
			}
		}
	}
	if failed == 0 {
		t.Errorf("no call failed after its connection was killed: the test proves nothing")
	}
}
