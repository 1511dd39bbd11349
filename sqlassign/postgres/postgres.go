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
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "postgres", "postgresql") }

// parseURL checks a postgres: URL or a keyword DSN with pgx, which takes it as it is. Messages name
// it with every password hidden (internal/redact), also when it does not parse.
func parseURL(raw string) (drivers.Target, error) {
	display := redact.DSN(raw)
	scheme, _, _ := strings.Cut(raw, ":")
	if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" {
		// host=/var/run/postgresql dbname=test …: PostgreSQL's keyword/value form.
		if _, err := pgconn.ParseConfig(raw); err != nil {
			return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres DSN %q: %w", display, redact.Error(err, redact.Secrets(raw)))
		}
		return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: raw, Display: display}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres URL: %w", redact.Error(err, redact.Secrets(raw)))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return drivers.Target{}, fmt.Errorf("sqlassign: postgres URL %q has no host (give host:port, or a unix socket directory as ?host=/var/run/postgresql)", display)
	}
	if _, err := pgconn.ParseConfig(raw); err != nil {
		return drivers.Target{}, fmt.Errorf("sqlassign: bad postgres URL %q: %w", display, redact.Error(err, redact.Secrets(raw)))
	}
	return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: raw, Display: display}, nil
}
