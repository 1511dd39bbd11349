package sqlassign

import (
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"

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
	d       dialect
	driver  string
	dsn     string
	display string // the URL without its password, for messages
	busy    func(error) bool
}

// driverPackages names, for each scheme, the package that registers it.
var driverPackages = map[string]string{
	"sqlite": "sqlite", "sqlite3": "sqlite",
	"postgres": "postgres", "postgresql": "postgres",
	"mysql": "mysql", "mariadb": "mysql",
}

// parseURL maps a database URL to a driver and DSN, through the driver package registered for its
// scheme (keyword DSNs are PostgreSQL's).
func parseURL(raw string) (target, error) {
	scheme, what := "postgres", "keyword DSNs"
	if !keywordDSN(raw) {
		var ok bool
		scheme, _, ok = strings.Cut(raw, ":")
		if !ok || scheme == "" {
			return target{}, fmt.Errorf("sqlassign: %q is not a database URL (want sqlite:///path, sqlite::memory:, postgres://… or mysql://…)", raw)
		}
		what = "URLs"
	}
	pkg, known := driverPackages[strings.ToLower(scheme)]
	if !known {
		return target{}, fmt.Errorf("sqlassign: unknown scheme %q in database URL (want sqlite:, postgres: or mysql:)", scheme)
	}
	parse, ok := drivers.Lookup(scheme)
	if !ok {
		return target{}, fmt.Errorf("sqlassign: %s: %s need the driver package: import _ \"github.com/snowfall-go/snowfall/sqlassign/%s\"", strings.ToLower(scheme), what, pkg)
	}
	t, err := parse(raw)
	if err != nil {
		return target{}, err
	}
	d, ok := dialects[t.Dialect]
	if !ok {
		return target{}, fmt.Errorf("sqlassign: driver package for %s: URLs gave unknown dialect %q", scheme, t.Dialect)
	}
	return target{d: d, driver: t.Driver, dsn: t.DSN, display: t.Display, busy: t.Busy}, nil
}

var dialects = map[string]dialect{"postgres": postgres, "mysql": mysqlDialect, "sqlite": sqlite}

// keywordDSN reports whether raw is a PostgreSQL keyword/value connection string
// ("host=/var/run/postgresql dbname=test") rather than a URL.
func keywordDSN(raw string) bool {
	f := strings.Fields(raw)
	return len(f) > 0 && !strings.Contains(raw, "://") && keywordRE.MatchString(f[0])
}

var keywordRE = regexp.MustCompile(`^[a-z_]+=`)
