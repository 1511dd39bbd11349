// Package mysql lets sqlassign.Open and sqlassign.CheckURL accept MySQL and MariaDB URLs
// (mysql://user:pass@host:port/db, mariadb://…, a unix socket as
// mysql://user@/db?socket=/run/mysqld/mysqld.sock), through go-sql-driver/mysql. Import it for its
// side effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/mysql"
//
// The password goes in the user-information, percent-encoded where it needs to be; other query
// parameters than socket and tls are the driver's options (by their exact names) or one of a few
// session variables (sql_mode, time_zone and timeouts: see sessionVariables); any other parameter,
// which the driver would send as SET name=value, is refused, whatever its case. Messages show a
// URL as mysql://user:xxxxx@host:port/db with its socket and tls parameters only, and never quote
// what does not parse.
//
// A program that imports only this driver package does not link SQLite or pgx.
package mysql

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "mysql", "mariadb") }

// parseURL maps a mysql: URL to the driver's DSN.
func parseURL(raw string) (drivers.Target, error) {
	u, q, err := redact.ParseURL(raw)
	if err != nil {
		return drivers.Target{}, err
	}
	dsn, err := mysqlDSN(u, q)
	if err != nil {
		return drivers.Target{}, err
	}
	display := redact.Display(u, q, []string{"socket", "tls"}, nil)
	// The tables are named in the database the URL names (mysqlDSN refuses a URL without one),
	// not in whatever database a session's default turns out to be.
	return drivers.Target{Dialect: "mysql", Driver: "mysql", DSN: dsn, Display: display, Schema: strings.TrimPrefix(u.Path, "/"), Classify: classify}, nil
}

// mysqlDSN converts mysql://user:pass@host:port/db?param=value to the driver's DSN. It always
// sets clientFoundRows, so that an UPDATE reports the rows it matched, not only those it changed:
// a renewal that writes the same values must not look like a lost lease.
func mysqlDSN(u *url.URL, q url.Values) (string, error) {
	socket := q.Get("socket")
	if u.Host == "" && socket == "" {
		return "", errors.New("it has no host (want mysql://user:password@host:port/database, or a unix socket as ?socket=/run/mysqld/mysqld.sock)")
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", errors.New("it has no database name (want mysql://user:password@host:port/database)")
	}
	for k := range q {
		if l := strings.ToLower(k); strings.Contains(l, "pass") || strings.Contains(l, "pwd") {
			return "", errors.New("it has a password parameter: the password goes in the user-information, percent-encoded (mysql://user:password@host/database)")
		}
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
	for k, vs := range q {
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
	dsn := c.FormatDSN()
	// The property is checked on what the driver gets: it sends every parameter that is not one of
	// its options (by exact name) as SET name=value when it connects, so a parameter is either an
	// option or one of sessionVariables, however its name was spelled or escaped.
	pc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", errors.New("the driver refuses one of its parameters (not shown: a parameter may hold a password)")
	}
	for k := range pc.Params {
		if !sessionVariables[strings.ToLower(k)] {
			return "", fmt.Errorf("it has a parameter (not shown) that is no option of the driver: the driver would send it as a session variable (SET name=value), "+
				"and the session variables a URL may set are %s", strings.Join(sortedKeys(sessionVariables), ", "))
		}
	}
	if !pc.ClientFoundRows {
		return "", errors.New("it turns clientFoundRows off, which lease renewal needs (an UPDATE must report the rows it matched)")
	}
	// What the server at the other end may get from this process: no file of its choice, no
	// batch of statements in one call. (allowCleartextPasswords, a password in clear text, is
	// refused above with every parameter whose name holds "pass".)
	if pc.AllowAllFiles {
		return "", errors.New("it sets allowAllFiles=true, which lets the database server read any file this process can (LOAD DATA LOCAL); the lease store needs none")
	}
	if pc.MultiStatements {
		return "", errors.New("it sets multiStatements=true; the lease store sends one statement at a time, and allows no more")
	}
	return dsn, nil
}

func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}

// classify names the driver's errors: a server's error by its number, the driver's own errors by
// their fixed texts.
func classify(err error) string {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if s, ok := serverErrors[me.Number]; ok {
			return fmt.Sprintf("%s (MySQL error %d)", s, me.Number)
		}
		return fmt.Sprintf("the server refused (MySQL error %d)", me.Number)
	}
	for _, e := range []error{mysql.ErrInvalidConn, mysql.ErrMalformPkt, mysql.ErrNoTLS, mysql.ErrCleartextPassword,
		mysql.ErrNativePassword, mysql.ErrOldPassword, mysql.ErrUnknownPlugin, mysql.ErrOldProtocol, mysql.ErrPktSync,
		mysql.ErrPktSyncMul, mysql.ErrPktTooLarge, mysql.ErrBusyBuffer} {
		if errors.Is(err, e) {
			return "the driver says: " + e.Error() // its fixed text
		}
	}
	return ""
}

// serverErrors describe the server errors that opening a database meets.
var serverErrors = map[uint16]string{
	1045: "authentication failed: access denied",
	1044: "access to the database denied",
	1049: "the database does not exist",
	1040: "too many connections",
	1130: "this host is not allowed to connect",
	1142: "permission denied",
	1193: "unknown session variable in the URL's parameters",
	1231: "a session variable in the URL's parameters has a value it cannot take",
	1251: "the server asks for an authentication method the client does not support",
	1290: "the server runs with an option that refuses this (read-only?)",
	1836: "the server is read-only",
}

// sessionVariables are the session variables a URL's query may set (by lower-case name): the
// driver sends every parameter that is not one of its options as SET name=value when it connects,
// and the project intends none that changes a user, a privilege, a transaction's isolation or
// commit, what the tables check, or the session's clock (timestamp: leases are timed by the
// database's clock, and a session frozen ahead takes live leases as expired).
var sessionVariables = map[string]bool{
	"sql_mode":                 true,
	"time_zone":                true,
	"lock_wait_timeout":        true,
	"innodb_lock_wait_timeout": true,
	"wait_timeout":             true,
	"net_read_timeout":         true,
	"net_write_timeout":        true,
	"max_execution_time":       true,
	"max_statement_time":       true,
}
