// Package sqlite lets sqlassign.Open and sqlassign.CheckURL accept sqlite:///path/to/file.db and
// sqlite://relative.db URLs (also spelled sqlite3:; sqlite::memory: too, which Open accepts only
// with Options.Unshared), through modernc.org/sqlite (pure Go, no cgo). Import it for its side
// effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/sqlite"
//
// Messages show a URL as its scheme and file path, without its query (pragmas and driver
// parameters, which may hold a key).
//
// A program that imports only the other driver packages does not link SQLite.
package sqlite

import (
	"errors"
	"strings"

	"modernc.org/sqlite" // registers "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "sqlite", "sqlite3") }

// parseURL maps a sqlite: URL to the driver's DSN: transactions begin IMMEDIATE (one writer at a
// time), and a file waits for a busy lock, runs in WAL mode and commits with synchronous=FULL.
// Pragmas in the URL's query can change these (the driver runs the _pragma values sorted, then its
// shorthand keys), but sqlassign.Open refuses a file whose effective settings do not commit durably.
func parseURL(raw string) (drivers.Target, error) {
	scheme, rest, _ := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	path, query, _ := strings.Cut(rest, "?")
	if strings.ContainsFunc(path, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return drivers.Target{}, errors.New("its file path holds a control character")
	}
	display := scheme + ":" + path
	if p, ok := strings.CutPrefix(path, "//"); ok {
		path = p
	}
	if path == "" {
		return drivers.Target{}, errors.New("it has no file path (want sqlite:///path/to/file.db)")
	}
	if !strings.HasPrefix(rest, "///") && strings.ContainsRune(raw, '@') {
		// sqlite://user:password@/x.db: SQLite has no user or password, and the path (which
		// messages show) would hold them, or a piece of them when the password holds a '?'.
		// Only the absolute form, sqlite:///path, cannot carry user-information: there an '@'
		// is part of the path (a home directory such as /home/ann@example.com) or of a value.
		return drivers.Target{}, errors.New("it holds an '@' but does not start with sqlite:///: a sqlite: URL has no user or password (want sqlite:///path/to/file.db)")
	}
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
	if query != "" {
		dsn += "&" + query
	}
	return drivers.Target{Dialect: "sqlite", Driver: "sqlite", DSN: dsn, Display: display, Busy: busy, Classify: classify}, nil
}

// busy reports whether err is SQLITE_BUSY or one of its extended codes. SQLite returns it without
// waiting out busy_timeout where waiting could deadlock, as when two connections switch a new file
// to WAL mode at once.
func busy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

// classify names SQLite's errors by their result code, in SQLite's fixed words: the driver's
// message may quote the statement, and so a pragma's value.
func classify(err error) string {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return ""
	}
	if s, ok := sqlite.ErrorCodeString[e.Code()]; ok {
		return "SQLite: " + s
	}
	if s, ok := sqlite.ErrorCodeString[e.Code()&0xff]; ok {
		return "SQLite: " + s
	}
	return "SQLite: error"
}
