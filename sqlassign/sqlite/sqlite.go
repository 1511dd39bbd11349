// Package sqlite lets sqlassign.Open and sqlassign.CheckURL accept sqlite:///path/to/file.db and
// sqlite://relative.db URLs (also spelled sqlite3:; sqlite::memory: too, which Open accepts only
// with Options.Unshared), through modernc.org/sqlite (pure Go, no cgo). Import it for its side
// effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/sqlite"
//
// A program that imports only the other driver packages does not link SQLite.
package sqlite

import (
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "sqlite", "sqlite3") }

// parseURL maps a sqlite: URL to the driver's DSN: transactions begin IMMEDIATE (one writer at a
// time), and a file waits for a busy lock, runs in WAL mode and commits with synchronous=FULL;
// pragmas in the URL's query come after these and win.
func parseURL(raw string) (drivers.Target, error) {
	_, rest, _ := strings.Cut(raw, ":")
	path, query, _ := strings.Cut(rest, "?")
	if p, ok := strings.CutPrefix(path, "//"); ok {
		path = p
	}
	if path == "" {
		return drivers.Target{}, fmt.Errorf("sqlassign: %q has no file path (want sqlite:///path/to/file.db)", raw)
	}
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	if query != "" {
		dsn += "&" + query
	}
	return drivers.Target{Dialect: "sqlite", Driver: "sqlite", DSN: dsn, Display: raw, Busy: busy}, nil
}

// busy reports whether err is SQLITE_BUSY or one of its extended codes. SQLite returns it without
// waiting out busy_timeout where waiting could deadlock, as when two connections switch a new file
// to WAL mode at once.
func busy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}
