package idsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// waitNotice is how long a database call runs before the command says what it is waiting for.
const waitNotice = time.Second

// DBCall runs f, one operation on the database at db, with a deadline of timeout. Once f has taken
// waitNotice, say is called with what the command is waiting for. When the deadline passes, DBCall
// returns an error naming the operation, the database (its display form) and the timeout; it does
// not wait for a driver that ignores the deadline (the command exits).
func DBCall(ctx context.Context, op string, db redact.URL, timeout time.Duration, say func(string), f func(context.Context) error) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f(ctx) }()
	notice := time.NewTimer(waitNotice)
	defer notice.Stop()
	var err error
	for waiting := true; waiting; {
		select {
		case err = <-done:
			waiting = false
		case <-notice.C:
			say(fmt.Sprintf("waiting for the database at %s (%s; gives up after %v)", db, op, timeout))
		case <-ctx.Done():
			select {
			case err = <-done:
			case <-time.After(time.Second): // a driver stuck past its deadline
				err = ctx.Err()
			}
			waiting = false
		}
	}
	// A driver whose own timeout equals ours (etcd's dial-timeout=2s and --db-timeout 2s) fails
	// a moment before or after the deadline: either way the call used up its time, and it says
	// so in the same words (which one came first is a race, not a reason).
	if err != nil && (errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Since(start) >= timeout-timeout/20) {
		return fmt.Errorf("%s: gave up after %v waiting for the database at %s: %w", op, timeout, db, err)
	}
	return err
}

// OpenDB opens the assigner at db within timeout (connect and create the tables), through DBCall;
// when a SQLite file cannot be opened, the error says why (the path, and what is wrong with it).
func OpenDB(ctx context.Context, db redact.URL, group string, timeout time.Duration, say func(string)) (assignurl.Store, error) {
	var a assignurl.Store
	err := DBCall(ctx, "connect and create the tables", db, timeout, say, func(ctx context.Context) error {
		var err error
		a, err = assignurl.Open(ctx, db, group)
		if err != nil && !errors.Is(err, sqlassign.ErrNotShared) { // that one says why itself
			if why := sqliteReason(db.Raw()); why != "" {
				return fmt.Errorf("%s: %w", why, err)
			}
		}
		return err
	})
	return a, err
}

// sqliteReason explains why the SQLite file of db cannot be opened, which the driver reports only
// as "unable to open database file": the path, and what is wrong with it. It returns "" when db is
// not a SQLite file URL or no reason is found.
func sqliteReason(db string) string {
	rest, ok := strings.CutPrefix(db, "sqlite:")
	if !ok {
		if rest, ok = strings.CutPrefix(db, "sqlite3:"); !ok {
			return ""
		}
	}
	path, _, _ := strings.Cut(rest, "?")
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return ""
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Sprintf("SQLite file %s: directory %s: %v", path, dir, err)
	} else if !fi.IsDir() {
		return fmt.Sprintf("SQLite file %s: %s is not a directory", path, dir)
	}
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return fmt.Sprintf("SQLite file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if err := writable(dir); err != nil { // the journal and WAL files go next to the database
		return fmt.Sprintf("SQLite file %s: directory %s is not writable: %v", path, dir, err)
	}
	return ""
}

// uniqueAmong says which servers a generator id leased from s keeps apart, for the log and /stats:
// "servers sharing <store>", where the store is the SQLite file (the path SQLite resolved), or the
// database or etcd URL in its redacted form, and the group when there is one. Servers leasing from
// another store (another file, another host's default database) may hold the same id.
func uniqueAmong(s assignurl.Store, db redact.URL, group string) string {
	out := "servers sharing " + storeName(s, db)
	if group != "" {
		out += " (group " + group + ")"
	}
	return out
}

// storeName renders the store s was opened from, never with its password: the one place that
// decides how a store is named in logs and /stats.
func storeName(s assignurl.Store, db redact.URL) string {
	if a, ok := s.(*sqlassign.Assigner); ok && a.Dialect() == "sqlite" {
		return a.Store() // a path, which holds no secret
	}
	return db.String() // the display form: never the password
}
