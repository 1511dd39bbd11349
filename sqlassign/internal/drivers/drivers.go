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
	Display string // the URL without its password, for messages
	// Busy reports an error of a lock conflict that opening may retry (SQLite's SQLITE_BUSY from
	// switching a new file to WAL mode while another process does too); nil when none is.
	Busy func(error) bool
}

// Parser maps a database URL to a Target. Its errors start with "sqlassign: ".
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
