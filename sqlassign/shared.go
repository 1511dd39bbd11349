package sqlassign

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// ErrNotShared is matched by the error of Open when the database it opened is not one other
// processes would share: leases kept in it would not keep two servers apart.
var ErrNotShared = errors.New("sqlassign: lease store not shared between processes")

// notSharedError says which store is not shared and why. It matches ErrNotShared.
type notSharedError struct {
	store string // the SQLite file or the redacted URL: never a secret
	why   string
}

func (e *notSharedError) Error() string {
	return fmt.Sprintf("sqlassign: %s is not shared between processes: %s; leases kept there cannot keep two servers apart", e.store, e.why)
}

func (e *notSharedError) Is(target error) bool { return target == ErrNotShared }

// checkShared returns an error matching ErrNotShared unless the database a opened is shared as a
// lease store must be: what a writes is seen by a connection made the way another process would
// make it, and (SQLite) a's write lock keeps that connection out. For SQLite that connection opens
// the database's file by the path SQLite resolved, with the default VFS and no other option, and
// the file must have one name (SQLite names its WAL after the path, so a second hard link would
// keep a WAL of its own). For PostgreSQL and MySQL it is a new connection with the same URL: a
// session-local table (an uncommitted autocommit=0 session; the tables are named with their
// schema, so a search_path with pg_temp first reaches no temporary table)
// shows there as a missing row. It also sets a.store.
//
// The SQLite file's other names are the ones a nonce cannot reach (each would open its own WAL):
// a hard link shows in the file's link count, and a bind mount of the file itself (Linux) in the
// mount table; a bind mount of its directory is safe (the WAL is in the same directory).
func (a *Assigner) checkShared(ctx context.Context, t target) error {
	a.store = t.display
	var other *sql.DB
	var err error
	if a.d.name == "sqlite" {
		other, err = a.sqliteFile(ctx, t.driver)
	} else {
		other, err = sql.Open(t.driver, t.dsn)
	}
	if err != nil {
		return checkErr("open a second connection to", t, err)
	}
	defer other.Close()
	other.SetMaxOpenConns(1)
	checks := a.prefix + checksTable
	// CREATE TABLE IF NOT EXISTS is refused to a user without CREATE even when the table exists:
	// a lease user (docs/operations.md, least privileges) only reads and writes it.
	var none int64
	if a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+checks+" WHERE 1 = 0").Scan(&none) != nil {
		err = a.retry(ctx, "create "+checksTable, func(ctx context.Context) error {
			_, err := a.db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+checks+
				" (nonce VARCHAR(64) NOT NULL PRIMARY KEY, created_ms BIGINT NOT NULL)")
			return err
		})
	}
	if err != nil {
		return checkErr("create "+checks+" at", t, err)
	}
	nonce := rand.Text()
	now := time.Now().UnixMilli()
	// Rows left by checks that did not finish (a crash) go after an hour.
	if _, err := a.db.ExecContext(ctx, a.d.q("DELETE FROM "+checks+" WHERE created_ms < ?"), now-time.Hour.Milliseconds()); err != nil {
		return checkErr("clear "+checks+" at", t, err)
	}
	if _, err := a.db.ExecContext(ctx, a.d.q("INSERT INTO "+checks+" (nonce, created_ms) VALUES (?, ?)"), nonce, now); err != nil {
		return checkErr("write a nonce to "+checks+" at", t, err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		a.db.ExecContext(ctx, a.d.q("DELETE FROM "+checks+" WHERE nonce = ?"), nonce)
	}()
	if n, err := countNonce(ctx, other, a.d, checks, nonce); err != nil || n != 1 {
		return &notSharedError{a.store, fmt.Sprintf("a row written through it is not seen by a new connection to the same database (%s)", seen(n, err, t))}
	}
	if a.d.name == "sqlite" {
		if err := a.checkLock(ctx, other, t.busy); err != nil {
			return checkErr("hold a write lock at", t, err)
		}
	}
	return nil
}

// checkErr is the error of a step of checkShared that failed for another reason than a store that
// is not shared: in our words and the error's class, never the driver's text, which may repeat the
// URL (see redact.Wrap).
func checkErr(step string, t target, err error) error {
	var ns *notSharedError
	if errors.As(err, &ns) {
		return err
	}
	return redact.Wrap("sqlassign: check that the store is shared: "+step, t.display, err, t.classify)
}

// seen describes what countNonce found, for messages: the class of its error, never its text.
func seen(n int, err error, t target) string {
	if err != nil {
		return "it found: " + redact.Classify(err, t.classify)
	}
	return fmt.Sprintf("it found %d rows", n)
}

func countNonce(ctx context.Context, db *sql.DB, d dialect, checks, nonce string) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, d.q("SELECT COUNT(*) FROM "+checks+" WHERE nonce = ?"), nonce).Scan(&n)
	return n, err
}

// sqliteFile checks that the main database of a is a file with one name, sets a.store to its
// path, and opens it again by that path with the default VFS.
func (a *Assigner) sqliteFile(ctx context.Context, driver string) (*sql.DB, error) {
	path, err := a.mainFile(ctx)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, &notSharedError{a.store, "SQLite keeps it in no file (an in-memory or temporary database)"}
	}
	a.store = path
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &notSharedError{a.store, fmt.Sprintf("SQLite names the file %s, which this process cannot find (%v): "+
			"the database is not that file (a memory VFS?)", path, err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, &notSharedError{a.store, fmt.Sprintf("%s is not a regular file", path)}
	}
	if n := links(fi); n > 1 {
		return nil, &notSharedError{a.store, fmt.Sprintf("the file has %d hard links, and SQLite names its write-ahead log after the path, "+
			"so servers opening it by different names would each keep a log of their own; give the file one name (a symbolic link is fine)", n)}
	}
	if root, err := mountRoot(path); err != nil {
		return nil, err
	} else if root {
		return nil, &notSharedError{a.store, "the file is bind-mounted on its own (a mount of the file, not of its directory), and SQLite names " +
			"its write-ahead log after the path, so servers opening it through the mount and through its own directory would each keep " +
			"a log of their own; mount the directory that holds it instead"}
	}
	// A URI: escape what would end the path or start an escape.
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return sql.Open(driver, "file:"+r.Replace(path)+"?mode=rw&_pragma=busy_timeout(10000)")
}

// checkLock holds a write transaction through a and tries to begin one through other, which must
// find the database busy: the lock a takes is one other processes meet.
func (a *Assigner) checkLock(ctx context.Context, other *sql.DB, busy func(error) bool) error {
	defer a.writer()()
	c, err := a.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("begin a write transaction: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	o, err := other.Conn(ctx)
	if err != nil {
		return err
	}
	defer o.Close()
	if _, err := o.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return err
	}
	_, err = o.ExecContext(ctx, "BEGIN IMMEDIATE")
	if err == nil {
		o.ExecContext(ctx, "ROLLBACK")
		return &notSharedError{a.store, "its write lock does not keep out another connection to the file (a VFS or option without locking, such as nolock=1?)"}
	}
	if busy == nil || !busy(err) {
		return fmt.Errorf("try a second write transaction: %w", err)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("end the write transaction: %w", err)
	}
	committed = true
	return nil
}
