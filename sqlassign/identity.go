package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
)

// fileIdentity is what a SQLite lease store holds its leases in: the database file and its
// write-ahead log as they were when Open checked the store, and a connection kept open for the
// Assigner's life, so that SQLite never deletes the log while the Assigner runs (it does when
// its last connection closes) and a log at the path that is not this one always means that
// another process made it.
//
// The path SQLite resolved is not the whole story: a URL may reach the file through a symbolic
// link that is later re-pointed, and a server started then opens another file. So each check also
// asks SQLite itself which file a new connection made with the URL's own DSN opens, whatever its
// spelling, and requires that to be this file too.
type fileIdentity struct {
	path         string
	db, wal, shm os.FileInfo // wal and shm nil when the database is not in WAL mode
	driver, dsn  string      // how a server given the same URL opens it
	pinDB        *sql.DB     // a pool of its own, so that the pin takes none of the Assigner's connections
	pin          *sql.Conn
	replaced     error // set once a check failed: the store never comes back
}

// holdFile records the identity of a's SQLite file, path (Open calls it for a database in a file),
// and keeps a connection to it open, opened by path with driver as sqliteFile does.
func (a *Assigner) holdFile(ctx context.Context, driver, path, dsn string) error {
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
	id := &fileIdentity{path: path, pinDB: pinDB, pin: pin, driver: driver, dsn: dsn}
	if id.db, err = os.Stat(path); err != nil {
		return err
	}
	if strings.EqualFold(mode, "wal") {
		if id.wal, err = os.Stat(path + "-wal"); err != nil {
			return err
		}
		// The shared-memory index: servers with another -shm would each keep their own index
		// of one log, and read and write past each other.
		if id.shm, err = os.Stat(path + "-shm"); err != nil {
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
	why := f.sameFiles(f.path)
	if why == "" {
		why = f.sameByURL()
	}
	if why == "" {
		return nil
	}
	f.replaced = fmt.Errorf("%w: the lease store %s was replaced while this server ran (%s): servers opening the path "+
		"no longer see the leases written here; restart this server", snowfall.ErrLeaseLost, f.path, why)
	return f.replaced
}

// sameFiles says how the files at path (the database, its -wal and -shm) differ from the ones f
// holds, or returns "".
func (f *fileIdentity) sameFiles(path string) string {
	for _, c := range []struct {
		suffix, name string
		held         os.FileInfo
	}{{"", "the database file", f.db}, {"-wal", "its write-ahead log", f.wal}, {"-shm", "its shared-memory index", f.shm}} {
		if c.held == nil {
			continue
		}
		fi, err := os.Stat(path + c.suffix)
		if err != nil {
			return fmt.Sprintf("%s %s is gone", c.name, path+c.suffix)
		}
		if !os.SameFile(fi, c.held) {
			return fmt.Sprintf("%s %s is another file", c.name, path+c.suffix)
		}
	}
	return ""
}

// sameByURL opens a new connection with the URL's own DSN, as a server started now would, asks
// SQLite which file it opened, and says how that differs from f's files, or returns "". A
// connection it cannot open or ask is not a difference (the renewal that follows meets the same
// trouble and says so). Opening may create an empty database where the URL now leads, as that
// server would.
func (f *fileIdentity) sameByURL() string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open(f.driver, f.dsn)
	if err != nil {
		return ""
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	path, err := mainFileOf(ctx, db)
	if err != nil || path == "" {
		return ""
	}
	if why := f.sameFiles(path); why != "" {
		return "its URL now leads to " + path + ": " + why
	}
	return ""
}

// releaseFile closes the connection that holdFile kept open.
func (a *Assigner) releaseFile() {
	if a.file != nil {
		a.file.pin.Close()
		a.file.pinDB.Close()
	}
}
