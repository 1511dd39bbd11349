// Package mysql lets sqlassign.Open and sqlassign.CheckURL accept MySQL and MariaDB URLs
// (mysql://user:pass@host:port/db, mariadb://…, a unix socket as
// mysql://user@/db?socket=/run/mysqld/mysqld.sock), through go-sql-driver/mysql. Import it for its
// side effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/mysql"
//
// The password goes in the user-information, percent-encoded where it needs to be; other query
// parameters than socket and tls are the driver's parameters or session variables. Messages show a
// URL as mysql://user:xxxxx@host:port/db with its socket and tls parameters only, and never quote
// what does not parse.
//
// A program that imports only this driver package does not link SQLite or pgx.
package mysql

import (
	"errors"
	"fmt"
	"net/url"
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
	for _, k := range []string{"password", "passwd", "pass"} {
		if q.Has(k) {
			return "", fmt.Errorf("it has a %s parameter: the password goes in the user-information, percent-encoded (mysql://user:password@host/database)", k)
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
	return c.FormatDSN(), nil
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
