package sqlassign

import (
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
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
	memory  bool
	display string // the URL without its password, for messages
}

// parseURL maps a database URL to a driver and DSN.
func parseURL(raw string) (target, error) {
	if keywordDSN(raw) {
		// host=/var/run/postgresql dbname=test …: PostgreSQL's keyword/value form.
		display := passwordRE.ReplaceAllString(raw, "${1}xxxxx")
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return target{}, fmt.Errorf("sqlassign: bad postgres DSN %q: %w", display, err)
		}
		return target{d: postgres, driver: "pgx", dsn: raw, display: display}, nil
	}
	scheme, rest, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		return target{}, fmt.Errorf("sqlassign: %q is not a database URL (want sqlite:///path, sqlite::memory:, postgres://… or mysql://…)", raw)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path, query, _ := strings.Cut(rest, "?")
		if path == ":memory:" {
			return target{d: sqlite, driver: "sqlite", memory: true, display: raw,
				dsn: "file::memory:?_txlock=immediate"}, nil
		}
		if p, ok := strings.CutPrefix(path, "//"); ok {
			path = p
		}
		if path == "" {
			return target{}, fmt.Errorf("sqlassign: %q has no file path (want sqlite:///path/to/file.db)", raw)
		}
		dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)"
		if query != "" {
			dsn += "&" + query
		}
		return target{d: sqlite, driver: "sqlite", dsn: dsn, display: raw}, nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil {
			return target{}, fmt.Errorf("sqlassign: bad postgres URL: %w", err)
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return target{}, fmt.Errorf("sqlassign: postgres URL %q has no host (give host:port, or a unix socket directory as ?host=/var/run/postgresql)", u.Redacted())
		}
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return target{}, fmt.Errorf("sqlassign: bad postgres URL %q: %w", u.Redacted(), err)
		}
		return target{d: postgres, driver: "pgx", dsn: raw, display: u.Redacted()}, nil
	case "mysql", "mariadb":
		u, err := url.Parse(raw)
		if err != nil {
			return target{}, fmt.Errorf("sqlassign: bad mysql URL: %w", err)
		}
		dsn, err := mysqlDSN(u)
		if err != nil {
			return target{}, err
		}
		return target{d: mysqlDialect, driver: "mysql", dsn: dsn, display: u.Redacted()}, nil
	}
	return target{}, fmt.Errorf("sqlassign: unknown scheme %q in database URL (want sqlite:, postgres: or mysql:)", scheme)
}

// keywordDSN reports whether raw is a PostgreSQL keyword/value connection string
// ("host=/var/run/postgresql dbname=test") rather than a URL.
func keywordDSN(raw string) bool {
	f := strings.Fields(raw)
	return len(f) > 0 && !strings.Contains(raw, "://") && keywordRE.MatchString(f[0])
}

var (
	keywordRE  = regexp.MustCompile(`^[a-z_]+=`)
	passwordRE = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

// mysqlDSN converts mysql://user:pass@host:port/db?param=value to the driver's DSN. It always
// sets clientFoundRows, so that an UPDATE reports the rows it matched, not only those it changed:
// a renewal that writes the same values must not look like a lost lease.
func mysqlDSN(u *url.URL) (string, error) {
	socket := u.Query().Get("socket")
	if u.Host == "" && socket == "" {
		return "", fmt.Errorf("sqlassign: mysql URL %q has no host (give host:port, or a unix socket as ?socket=/run/mysqld/mysqld.sock)", u.Redacted())
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", fmt.Errorf("sqlassign: mysql URL %q has no database name", u.Redacted())
	}
	c := mysql.NewConfig()
	c.Net = "tcp"
	c.Addr = u.Host
	if u.Port() == "" {
		c.Addr += ":3306"
	}
	if socket != "" {
		c.Net, c.Addr = "unix", socket
	}
	c.DBName = db
	if u.User != nil {
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
	}
	c.ClientFoundRows = true
	for k, vs := range u.Query() {
		if k == "tls" {
			c.TLSConfig = vs[0]
			continue
		}
		if k == "socket" {
			continue
		}
		if c.Params == nil {
			c.Params = map[string]string{}
		}
		c.Params[k] = vs[0]
	}
	return c.FormatDSN(), nil
}
