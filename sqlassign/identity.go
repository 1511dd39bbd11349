package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	"github.com/snowfall-go/snowfall"
)

// fileIdentity is what a SQLite lease store holds its leases in: the database file and its
// write-ahead log as they were when Open checked the store, and a connection kept open for the
// Assigner's life, so that SQLite never deletes the log while the Assigner runs (it does when
// its last connection closes) and a log at the path that is not this one always means that
// another process made it.
type fileIdentity struct {
	path     string
	db, wal  os.FileInfo // wal nil when the database is not in WAL mode
	pinDB    *sql.DB     // a pool of its own, so that the pin takes none of the Assigner's connections
	pin      *sql.Conn
	replaced error // set once a check failed: the store never comes back
}

// holdFile records the identity of a's SQLite file, path (Open calls it for a database in a file),
// and keeps a connection to it open, opened by path with driver as sqliteFile does.
func (a *Assigner) holdFile(ctx context.Context, driver, path string) error {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	pinDB, err := sql.Open(driver, "file:"+r.Replace(path)+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	pinDB.SetMaxOpenConns(1)
	pin, err := pinDB.Conn(ctx)
	if err != nil {
		pinDB.Close()
		return err
	}
	defer func() {
		if a.file == nil {
			pin.Close()
			pinDB.Close()
		}
	}()
	var mode string
	// A read opens the write-ahead log, which the connection then keeps open.
	if err := pin.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read the journal mode: %w", err)
	}
	var n int
	if err := pin.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	id := &fileIdentity{path: path, pinDB: pinDB, pin: pin}
	if id.db, err = os.Stat(path); err != nil {
		return err
	}
	if strings.EqualFold(mode, "wal") {
		if id.wal, err = os.Stat(path + "-wal"); err != nil {
			return err
		}
	}
	a.file = id
	return nil
}

// checkFile returns an error wrapping ErrLeaseLost if the files at a's path are not the ones Open
// found there (the database renamed, moved or replaced, its log deleted or replaced): leases
// written through a would then not be the ones other servers opening the path read, and a server
// there may already have made a fresh database and leased the same ids. Renewals and claims call
// it first, so that a holder fences at its first renewal after the change. Once failed, it always
// fails: a's pool may hold connections to either file.
func (a *Assigner) checkFile() error {
	f := a.file
	if f == nil {
		return nil
	}
	a.fmu.Lock()
	defer a.fmu.Unlock()
	if f.replaced != nil {
		return f.replaced
	}
	why := ""
	if fi, err := os.Stat(f.path); err != nil {
		why = "the database file is gone from its path"
	} else if !os.SameFile(fi, f.db) {
		why = "the file at the database's path is another file"
	} else if f.wal != nil {
		if wi, err := os.Stat(f.path + "-wal"); err != nil {
			why = "its write-ahead log " + f.path + "-wal was deleted"
		} else if !os.SameFile(wi, f.wal) {
			why = "its write-ahead log " + f.path + "-wal is another file"
		}
	}
	if why == "" {
		return nil
	}
	f.replaced = fmt.Errorf("%w: the lease store %s was replaced while this server ran (%s): servers opening the path "+
		"no longer see the leases written here; restart this server", snowfall.ErrLeaseLost, f.path, why)
	return f.replaced
}

// releaseFile closes the connection that holdFile kept open.
func (a *Assigner) releaseFile() {
	if a.file != nil {
		a.file.pin.Close()
		a.file.pinDB.Close()
	}
}
