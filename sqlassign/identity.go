package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// fileIdentity is what a SQLite lease store holds its leases in: the database file and its
// write-ahead log and shared-memory index as they were when Open checked the store, and a
// connection kept open for the Assigner's life, so that SQLite never deletes the log while the
// Assigner runs (it does when its last connection closes) and a log at the path that is not this
// one always means that another process made it.
//
// What it keeps true: the files this server's connections read and write are exactly the files
// whose identity it recorded, reachable by the URL, under one name. Open records them with the
// pin opened first, then drops every connection its pool opened before and proves that the
// pool's connections share the pin's write lock (holdFile); each renewal and claim then checks
// that the path still names those files, that the database file has one name (no hard link), and
// that the URL, opened anew, leads to them (checkFile).
//
// The path SQLite resolved is not the whole story: a URL may reach the file through a symbolic
// link that is later re-pointed, and a server started then opens another file. So each check also
// asks SQLite itself which file a new connection made with the URL's own DSN opens, whatever its
// spelling, and requires that to be this file too.
type fileIdentity struct {
	path         string
	db, wal, shm os.FileInfo
	driver, dsn  string  // how a server given the same URL opens it
	pinDB        *sql.DB // a pool of its own, so that the pin takes none of the Assigner's connections
	pin          *sql.Conn
	replaced     error // set once a check found other files: the store never comes back
}

// holdFile records the identity of a's SQLite file, path (Open calls it last, for a database in a
// file), and keeps a connection to it open, opened by path with driver as sqliteFile does. The
// file may have been replaced while Open ran (its pool's connections then hold the old file, the
// path names a new one): so it opens the pin and records the files first, then closes every
// connection the pool opened before, and requires that a connection the pool opens now shares the
// pin's write lock and finds the group's tables, and that the path, the URL (dsn) and the single
// name still lead to the recorded files. busy recognises SQLITE_BUSY. Its error matches
// ErrNotShared when the file was replaced.
func (a *Assigner) holdFile(ctx context.Context, driver, path, dsn string, busy func(error) bool) error {
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
	replaced := func(why string) error {
		return &notSharedError{a.store, "the file at " + path + " was replaced while this server opened it (" + why +
			"): its connections would keep leases in a file that servers opening the path do not; start it again"}
	}
	var mode string
	// A read opens the write-ahead log, which the connection then keeps open.
	if err := pin.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read the journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		// checkDurable found the pool's file in WAL mode, which a file keeps.
		return replaced("the file at the path is in journal mode " + strings.ToUpper(mode) + ", not WAL")
	}
	var n int
	if err := pin.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_master").Scan(&n); err != nil {
		return fmt.Errorf("read the schema: %w", err)
	}
	id := &fileIdentity{path: path, pinDB: pinDB, pin: pin, driver: driver, dsn: dsn}
	if id.db, err = os.Stat(path); err != nil {
		return replaced(err.Error())
	}
	if id.wal, err = os.Stat(path + "-wal"); err != nil {
		return replaced(err.Error())
	}
	// The shared-memory index: servers with another -shm would each keep their own index of one
	// log, and read and write past each other.
	if id.shm, err = os.Stat(path + "-shm"); err != nil {
		return replaced(err.Error())
	}
	// Every connection the pool opened so far may hold a file the path named before: close them
	// all (none is in use: Open runs alone), so that the pool's connections are opened from now on.
	conns := a.db.Stats().MaxOpenConnections
	a.db.SetMaxIdleConns(0)
	a.db.SetMaxIdleConns(conns)
	if same, err := a.sharesLock(ctx, pin, busy); err != nil {
		return err
	} else if !same {
		return replaced("a write transaction of its pool does not keep out a connection to the file at the path")
	}
	if err := a.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+a.manifest).Scan(&n); err != nil {
		return replaced("the file at the path has no table " + a.manifest)
	}
	if why := id.sameFiles(path); why != "" {
		return replaced(why)
	}
	if why, err := id.sameByURL(); err != nil {
		return fmt.Errorf("open the URL again: %w", err)
	} else if why != "" {
		return replaced(why)
	}
	a.file = id
	return nil
}

// sharesLock holds a write transaction on a connection of a's pool and tries to begin one on pin,
// which must find the database busy: the pool and pin hold one file (in WAL mode, one
// shared-memory index, where the write lock is). It reports whether they do.
func (a *Assigner) sharesLock(ctx context.Context, pin *sql.Conn, busy func(error) bool) (bool, error) {
	defer a.writer()()
	c, err := a.db.Conn(ctx)
	if err != nil {
		// Each connection runs the URL's pragmas: one that asks to leave WAL mode fails while
		// another connection holds the file.
		return false, redact.Wrap("sqlassign: open", a.url+": a connection made while another holds the file failed "+
			"(as it does when the URL asks for a journal mode other than WAL: a lease store runs in WAL mode, want WAL, the default)", err, a.classify)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return false, fmt.Errorf("begin a write transaction: %w", err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	if _, err := pin.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
		return false, err
	}
	defer pin.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = 10000")
	_, err = pin.ExecContext(ctx, "BEGIN IMMEDIATE")
	if err == nil {
		pin.ExecContext(ctx, "ROLLBACK")
		return false, nil
	}
	if busy == nil || !busy(err) {
		return false, fmt.Errorf("try a second write transaction: %w", err)
	}
	return true, nil
}

// checkFile returns an error wrapping ErrLeaseLost if the files at a's path are not the ones Open
// found there (the database renamed, moved or replaced, its log deleted or replaced), if the
// database file has another name too (a hard link: SQLite names the log after the path, so a
// server opening the other name keeps a log of its own), or if its URL, opened anew, leads to
// other files: leases written through a would then not be the ones other servers opening the path
// read, and a server there may already have made a fresh database and leased the same ids.
// Renewals and claims call it first, so that a holder fences at its first renewal after the
// change. Once failed so, it always fails: a's pool may hold connections to either file. A check
// that cannot tell (the URL cannot be opened now) fails too, but only this once: the renewal
// fails, and the lease lapses unless a later check passes.
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
		var err error
		if why, err = f.sameByURL(); err != nil {
			return redact.Wrap("sqlassign: check that the URL still leads to", f.path, err, a.classify)
		}
	}
	if why == "" {
		return nil
	}
	f.replaced = fmt.Errorf("%w: the lease store %s was replaced while this server ran (%s): servers opening the path "+
		"no longer see the leases written here; restart this server", snowfall.ErrLeaseLost, f.path, why)
	return f.replaced
}

// sameFiles says how the files at path (the database, its -wal and -shm) differ from the ones f
// holds, or whether the database file has more than one name, or returns "".
func (f *fileIdentity) sameFiles(path string) string {
	for _, c := range []struct {
		suffix, name string
		held         os.FileInfo
	}{{"", "the database file", f.db}, {"-wal", "its write-ahead log", f.wal}, {"-shm", "its shared-memory index", f.shm}} {
		fi, err := os.Stat(path + c.suffix)
		if err != nil {
			return fmt.Sprintf("%s %s is gone", c.name, path+c.suffix)
		}
		if !os.SameFile(fi, c.held) {
			return fmt.Sprintf("%s %s is another file", c.name, path+c.suffix)
		}
		if n := links(fi); c.suffix == "" && n != 1 {
			return fmt.Sprintf("%s %s has %d names (hard links), and a server opening another name keeps a write-ahead log of its own",
				c.name, path, n)
		}
	}
	return ""
}

// sameByURL opens a new connection with the URL's own DSN, as a server started now would, asks
// SQLite which file it opened, and says how that differs from f's files, or returns "". A
// connection it cannot open or ask is an error: that check cannot tell. Opening may create an
// empty database where the URL now leads, as that server would.
func (f *fileIdentity) sameByURL() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := sql.Open(f.driver, f.dsn)
	if err != nil {
		return "", err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	path, err := mainFileOf(ctx, db)
	if err != nil {
		return "", err
	}
	if path == "" {
		return "its URL now leads to a database in no file", nil
	}
	if why := f.sameFiles(path); why != "" {
		return "its URL now leads to " + path + ": " + why, nil
	}
	return "", nil
}

// releaseFile closes the connection that holdFile kept open.
func (a *Assigner) releaseFile() {
	if a.file != nil {
		a.file.pin.Close()
		a.file.pinDB.Close()
	}
}
