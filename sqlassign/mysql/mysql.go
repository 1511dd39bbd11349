// Package mysql lets sqlassign.Open and sqlassign.CheckURL accept MySQL and MariaDB URLs
// (mysql://user:pass@host:port/db, mariadb://…, a unix socket as
// mysql://user@/db?socket=/run/mysqld/mysqld.sock), through go-sql-driver/mysql. Import it for its
// side effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/mysql"
//
// A program that imports only this driver package does not link SQLite or pgx.
package mysql

import (
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
	display := redact.DSN(raw) // every password hidden, also when raw does not parse
	u, err := url.Parse(raw)
	if err != nil {
		return drivers.Target{}, fmt.Errorf("sqlassign: bad mysql URL: %w", redact.Error(err, redact.Secrets(raw)))
	}
	dsn, err := mysqlDSN(u, display)
	if err != nil {
		return drivers.Target{}, err
	}
	return drivers.Target{Dialect: "mysql", Driver: "mysql", DSN: dsn, Display: display}, nil
}

// mysqlDSN converts mysql://user:pass@host:port/db?param=value to the driver's DSN. It always
// sets clientFoundRows, so that an UPDATE reports the rows it matched, not only those it changed:
// a renewal that writes the same values must not look like a lost lease.
func mysqlDSN(u *url.URL, display string) (string, error) {
	socket := u.Query().Get("socket")
	if u.Host == "" && socket == "" {
		return "", fmt.Errorf("sqlassign: mysql URL %q has no host (give host:port, or a unix socket as ?socket=/run/mysqld/mysqld.sock)", display)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", fmt.Errorf("sqlassign: mysql URL %q has no database name", display)
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
