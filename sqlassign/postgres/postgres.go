// Package postgres lets sqlassign.Open and sqlassign.CheckURL accept PostgreSQL URLs
// (postgres://user:pass@host:port/db?sslmode=disable, postgresql://…, a unix socket as
// postgres:///db?host=/var/run/postgresql) and keyword DSNs (host=/var/run/postgresql dbname=db),
// every form pgx accepts, through pgx's database/sql driver. Import it for its side effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/postgres"
//
// A program that imports only this driver package does not link SQLite or MySQL.
package postgres

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "postgres", "postgresql") }

// parseURL checks a postgres: URL or a keyword DSN with pgx, which takes it as it is.
func parseURL(raw string) (drivers.Target, error) {
	scheme, _, _ := strings.Cut(raw, ":")
	if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" {
		// host=/var/run/postgresql dbname=test …: PostgreSQL's keyword/value form.
		display := passwordRE.ReplaceAllString(raw, "${1}xxxxx")
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres DSN %q: %w", display, err)
		}
		return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: raw, Display: display}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres URL: %w", err)
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return drivers.Target{}, fmt.Errorf("sqlassign: postgres URL %q has no host (give host:port, or a unix socket directory as ?host=/var/run/postgresql)", u.Redacted())
	}
	if _, err := pgconn.ParseConfig(raw); err != nil {
		return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres URL %q: %w", u.Redacted(), err)
	}
	return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: raw, Display: u.Redacted()}, nil
}

var passwordRE = regexp.MustCompile(`(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
