package sqlassign_test

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// TestSQLiteFileReplacedDuringOpen: the red team's F-A. A server's SQLite file (with its -wal and
// -shm) was moved away and a fresh database renamed in while the server was inside Open: its pool
// kept the connections opened on the old file, while the identity it recorded last was the new
// file's, so every check passed and it renewed in the old file for good, and a server started later
// on the path leased generator 0 again from the new file. The seam: a write transaction of the
// test's own, taken while Open's nonce is in the table, holds Open at its next write while the test
// swaps the files. Open must now refuse, or the holder fence; it must never issue on the old file.
func TestSQLiteFileReplacedDuringOpen(t *testing.T) {
	for try := 0; try < 5; try++ {
		if replacedDuringOpen(t) {
			return
		}
	}
	t.Fatal("the test never caught Open with its nonce in the table (5 tries)")
}

// replacedDuringOpen runs one try of TestSQLiteFileReplacedDuringOpen and reports whether it caught
// Open in its window.
func replacedDuringOpen(t *testing.T) bool {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "leases.db")
	url := "sqlite://" + path
	ctx := t.Context()
	// The store, as schema create makes it.
	a0, err := sqlassign.Open(ctx, url, sqlassign.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a0.Close()
	hold, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	hold.SetMaxOpenConns(1)
	c, err := hold.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type opened struct {
		a   *sqlassign.Assigner
		err error
	}
	done := make(chan opened, 1)
	go func() {
		a, err := sqlassign.Open(ctx, url, sqlassign.Options{})
		done <- opened{a, err}
	}()
	nonces := func() int {
		var n int
		if c.QueryRowContext(ctx, "SELECT COUNT(*) FROM snowfall_checks").Scan(&n) != nil {
			return 0
		}
		return n
	}
	caught := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !caught; {
		select {
		case r := <-done:
			if r.a != nil {
				r.a.Close()
			}
			return false // Open ended before the test caught it
		default:
		}
		if nonces() == 0 {
			time.Sleep(100 * time.Microsecond)
			continue
		}
		if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			continue // Open holds it (its lock check)
		}
		if nonces() == 0 {
			c.ExecContext(ctx, "ROLLBACK") // too late: Open's check ended
			break
		}
		caught = true
	}
	if !caught {
		r := <-done
		if r.a != nil {
			r.a.Close()
		}
		return false
	}
	// Open's nonce is in the table, and its next write (its lock check, or the nonce's deletion)
	// waits for the test's transaction: let it get there, then swap the files under it.
	time.Sleep(100 * time.Millisecond)
	if err := os.Mkdir(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+s, filepath.Join(dir, "old", "leases.db"+s)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	fresh := filepath.Join(dir, "fresh.db")
	f, err := sql.Open("sqlite", "file:"+fresh)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{"PRAGMA journal_mode=WAL", "CREATE TABLE x (y)"} {
		if _, err := f.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	if err := os.Rename(fresh, path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	r := <-done
	if r.err != nil {
		if !errors.Is(r.err, sqlassign.ErrNotShared) || !strings.Contains(r.err.Error(), "replaced while this server opened it") {
			t.Fatalf("Open: %v; want an error matching ErrNotShared saying the file was replaced while it opened", r.err)
		}
		t.Logf("Open refused: %v", r.err)
		return true
	}
	a := r.a
	defer a.Close()
	const probe = 300 * time.Millisecond
	la, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Probe: probe})
	if err != nil {
		t.Logf("NewLeased: %v", err)
		return true
	}
	defer la.Close()
	fencesWithin(t, la, time.Now(), probe, "its file was replaced while it opened it")
	return true
}

// TestSQLiteFileSecondName: the red team's F-C. A rename dance gives the holder's file two names,
// each with a write-ahead log of its own, between two of its renewals: mv leases.db other.db; a
// server starts on other.db (one name then: accepted); ln other.db leases.db. The holder's path
// names its file again, so a check of the path alone passed, and both servers held generator 0 (944,000
// common IDs in 15 s). Every check now requires the file to have one name, so the holder fences
// (and so would the server on other.db, at its next check). The test leaves that server out: in one
// process SQLite shares one index between the connections to one file, whatever their names, so it
// would not show the second log; the red team's script (redteam/rename_dance.sh on branch
// redteam-dup2) runs two.
func TestSQLiteFileSecondName(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	path, other := filepath.Join(dir, "leases.db"), filepath.Join(dir, "other.db")
	const probe = 300 * time.Millisecond
	la := holding(t, "sqlite://"+path, probe)
	if err := os.Rename(path, other); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(other, path); err != nil {
		t.Fatal(err)
	}
	fencesWithin(t, la, time.Now(), probe, "its file got a second name")
	if _, err := la.Next(); err == nil {
		t.Fatal("Next issued after the holder's file got a second name")
	}
}

// TestSQLiteURLUncheckable: the red team's F-B. The per-renewal check of the URL treated a URL it
// could not open as no change: a holder whose URL's directory link was re-pointed where it cannot
// open a database never fenced, while a server that could (another user) leased generator 0 again
// there. The seam: the link re-pointed to a directory that does not exist (no user can open a
// database there, root included). A check that cannot tell now fails the renewal: the holder stops
// issuing within its lease, and issues again once a check passes.
func TestSQLiteURLUncheckable(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "current")
	if err := os.Symlink("v1", link); err != nil {
		t.Fatal(err)
	}
	repoint := func(to string) {
		tmp := filepath.Join(dir, "current.new")
		if err := os.Symlink(to, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	const probe = 300 * time.Millisecond
	la := holding(t, "sqlite://"+filepath.Join(link, "leases.db"), probe)
	repoint("gone")
	fencesWithin(t, la, time.Now(), probe, "its URL came to lead where no database can be opened")
	time.Sleep(2 * probe)
	if id, err := la.Next(); err == nil {
		t.Fatalf("Next issued %d while its URL could not be checked", id)
	}
	// Back where it was: a check passes again, and so does the renewal.
	repoint("v1")
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := la.Next()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Next still fails 5 s after the URL leads to the file again: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
