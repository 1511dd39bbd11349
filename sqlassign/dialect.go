package sqlassign

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

// dialect holds the few SQL differences between the databases; the statements are otherwise shared.
type dialect struct {
	name string
	// now is an expression for the database's clock in Unix milliseconds, as BIGINT.
	now string
	// greatest is the function that returns the larger of two values.
	greatest string
	// dollar: placeholders are $1, $2, … instead of ?.
	dollar bool
	// lock is appended to the claim's SELECT to lock the row it finds, skipping rows other
	// claimers hold locked.
	lock string
	// ignore turns "INSERT INTO" into an insert-if-absent: a prefix replacing it and a suffix.
	insertPrefix, insertSuffix string
	// isolation for claim transactions.
	isolation sql.IsolationLevel
}

var (
	postgres = dialect{
		name: "postgres",
		// statement_timestamp() is read once per statement; clock_timestamp() would be read
		// for every row a claim scans.
		now:          "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
		greatest:     "GREATEST",
		dollar:       true,
		lock:         " FOR UPDATE SKIP LOCKED",
		insertPrefix: "INSERT INTO", insertSuffix: " ON CONFLICT DO NOTHING",
		isolation: sql.LevelReadCommitted,
	}
	mysqlDialect = dialect{
		name: "mysql",
		// UTC, whatever the server's or the session's time zone: UNIX_TIMESTAMP(NOW(3)) converts
		// a local time back, which is an hour off in the repeated hour when daylight saving ends.
		// The difference of two UTC datetimes involves no zone at all.
		now:          "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', UTC_TIMESTAMP(6)) DIV 1000 AS SIGNED)",
		greatest:     "GREATEST",
		lock:         " FOR UPDATE SKIP LOCKED",
		insertPrefix: "INSERT IGNORE INTO",
		// Read committed: InnoDB then locks only the rows a locking read returns, not every row
		// it scanned, so claimers and renewals do not wait on each other.
		isolation: sql.LevelReadCommitted,
	}
	sqlite = dialect{
		name: "sqlite",
		// An uncorrelated subquery is evaluated once per statement, not for every row scanned.
		now:          "(SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER))",
		greatest:     "MAX", // SQLite's scalar max of several arguments
		insertPrefix: "INSERT INTO", insertSuffix: " ON CONFLICT DO NOTHING",
		// One writer at a time: transactions begin IMMEDIATE (see the DSN), so a claim's read
		// and update are never interleaved with another writer's.
	}
)

// q rewrites a statement written with ? placeholders and {now} for the dialect.
func (d dialect) q(s string) string {
	s = strings.ReplaceAll(s, "{now}", d.now)
	s = strings.ReplaceAll(s, "{greatest}", d.greatest)
	if !d.dollar {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// target is a parsed database URL.
type target struct {
	d        dialect
	driver   string
	dsn      string
	display  string // the URL as messages show it, without its password
	schema   string // the URL's schema (MySQL: database), "" for none
	busy     func(error) bool
	classify func(error) string
}

// driverPackages names, for each scheme, the package that registers it.
var driverPackages = map[string]string{
	"sqlite": "sqlite", "sqlite3": "sqlite",
	"postgres": "postgres", "postgresql": "postgres",
	"mysql": "mysql", "mariadb": "mysql",
}

// parseURL maps a database URL to a driver and DSN, through the driver package registered for its
// scheme (keyword/value DSNs are PostgreSQL's). Its errors never quote raw, nor pass on an error
// that does: a URL that does not parse may hold its password anywhere.
func parseURL(raw string) (target, error) {
	bad := func(err error) (target, error) {
		return target{}, &redact.InvalidError{Pkg: "sqlassign", What: "database URL", Reason: err}
	}
	scheme, _, hasColon := strings.Cut(raw, ":")
	scheme = strings.ToLower(scheme)
	pkg, known := driverPackages[scheme]
	what := "URLs"
	switch {
	case hasColon && known:
	case keywordDSN(raw):
		scheme, pkg, what = "postgres", "postgres", "keyword DSNs"
	case hasColon && redact.ValidScheme(scheme):
		return bad(errors.New("its scheme is not sqlite:, postgres:, postgresql:, mysql: or mariadb: (the scheme is not shown, in case it is a piece of a password)"))
	default:
		return bad(errors.New("it is neither a URL (sqlite:///path/to/file.db, postgres://…, mysql://…) nor PostgreSQL's keyword=value pairs"))
	}
	parse, ok := drivers.Lookup(scheme)
	if !ok {
		return target{}, fmt.Errorf("sqlassign: %s: %s need the driver package: import _ \"github.com/snowfall-go/snowfall/sqlassign/%s\"", scheme, what, pkg)
	}
	t, err := parse(raw)
	if err != nil {
		return bad(err)
	}
	d, ok := dialects[t.Dialect]
	if !ok {
		return target{}, fmt.Errorf("sqlassign: driver package for %s: URLs gave unknown dialect %q", scheme, t.Dialect)
	}
	return target{d: d, driver: t.Driver, dsn: t.DSN, display: t.Display, schema: t.Schema, busy: t.Busy, classify: t.Classify}, nil
}

var dialects = map[string]dialect{"postgres": postgres, "mysql": mysqlDialect, "sqlite": sqlite}

// keywordDSN reports whether raw is, by its first word, a keyword/value connection string
// ("host=/var/run/postgresql dbname=test"), in any case: the driver package then checks the
// keywords.
func keywordDSN(raw string) bool { return keywordRE.MatchString(raw) }

var keywordRE = regexp.MustCompile(`^\s*[A-Za-z_]+\s*=`)

// Redacted returns url as Open's messages show it: built from its parsed parts (scheme, user,
// hosts, database, and the parameters that hold no secret), without its password. Errors: those of
// CheckURL for a malformed url (which never quote it).
func Redacted(url string) (string, error) {
	t, err := parseURL(url)
	if err != nil {
		return "", err
	}
	return t.display, nil
}
