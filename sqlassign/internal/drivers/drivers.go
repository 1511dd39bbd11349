// Package drivers is the registry through which sqlassign's driver packages (sqlassign/sqlite,
// sqlassign/postgres, sqlassign/mysql) tell sqlassign how to open their URLs, so that sqlassign
// itself imports no driver and a program links only the drivers it imports.
package drivers

import (
	"strings"
	"sync"
)

// Target is a parsed database URL.
type Target struct {
	Dialect string // "sqlite", "postgres" or "mysql"
	Driver  string // the database/sql driver name
	DSN     string
	// Display is the URL as messages show it: built from its parsed parts, without the password
	// (see internal/redact).
	Display string
	// Schema is the schema (MySQL: the database) the tables are in, named in the URL; "" for the
	// dialect's own choice (see sqlassign's qualify).
	Schema string
	// Busy reports an error of a lock conflict that opening may retry (SQLite's SQLITE_BUSY from
	// switching a new file to WAL mode while another process does too); nil when none is.
	Busy func(error) bool
	// Classify names the driver's errors in fixed words (see redact.Classify): SQLSTATEs, error
	// numbers, result codes. It returns "" for an error it does not know.
	Classify func(error) string
}

// Parser maps a database URL to a Target. Its errors say what is wrong in fixed words: they never
// quote the URL, nor pass on a parser's error that does (net/url's and the drivers' do).
type Parser func(raw string) (Target, error)

var (
	mu      sync.RWMutex
	parsers = map[string]Parser{}
)

// Register makes parse open the URLs of the given schemes (lower-case, without the colon).
// Driver packages call it from init.
func Register(parse Parser, schemes ...string) {
	mu.Lock()
	defer mu.Unlock()
	for _, s := range schemes {
		parsers[s] = parse
	}
}

// Lookup returns the parser registered for scheme, in any case.
func Lookup(scheme string) (Parser, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := parsers[strings.ToLower(scheme)]
	return p, ok
}
