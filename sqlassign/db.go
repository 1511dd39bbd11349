package sqlassign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// New returns an Assigner on an existing connection pool, so that an application can lease
// through its own pool, credentials and driver registration (IAM tokens, vault-issued passwords,
// a custom dialer): dialect is "postgres" (any PostgreSQL driver, pgx's stdlib for example),
// "mysql" (go-sql-driver/mysql, whose DSN must set clientFoundRows=true) or "sqlite"
// (modernc.org/sqlite; set _txlock=immediate and a busy_timeout in its DSN). It creates the group's
// tables if they do not exist, in the pool's database (MySQL: a pool that names none is refused) or
// PostgreSQL's public schema; opts.MaxConns is ignored (the pool is the caller's), and Close
// leaves db open. Errors: an unknown dialect, a bad group name, an unreachable database, a MySQL
// pool without clientFoundRows or a database, schema creation failures, and a PostgreSQL or MySQL
// store whose commits would not survive a crash of the database (as for Open). Unlike Open, New does not check that
// the store is shared between processes: it cannot connect the way another process would. The
// result is safe for concurrent use.
func New(ctx context.Context, db *sql.DB, dialect string, opts Options) (*Assigner, error) {
	if db == nil {
		return nil, errors.New("sqlassign: new: nil *sql.DB")
	}
	var d = postgres
	switch strings.ToLower(dialect) {
	case "postgres", "postgresql", "pgx":
	case "mysql", "mariadb":
		d = mysqlDialect
	case "sqlite", "sqlite3":
		d = sqlite
	default:
		return nil, fmt.Errorf("sqlassign: new: unknown dialect %q (want postgres, mysql or sqlite)", dialect)
	}
	if _, _, err := tableNames(opts.Group); err != nil {
		return nil, err
	}
	a := &Assigner{db: db, d: d, url: d.name + " pool", store: d.name + " pool", attempts: opts.Attempts, borrowed: true}
	if a.attempts <= 0 {
		a.attempts = 8
	}
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlassign: new: %w", err)
	}
	var schema string
	if d.name == "mysql" {
		// The pool's database, read once: every statement names it (see qualify).
		var name sql.NullString
		if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&name); err != nil {
			return nil, fmt.Errorf("sqlassign: new: read the pool's database: %w", err)
		}
		schema = name.String
	}
	if err := a.qualify(opts.Group, schema); err != nil {
		return nil, err
	}
	if d.name == "mysql" {
		if err := checkFoundRows(ctx, db); err != nil {
			return nil, err
		}
	}
	if err := a.checkSession(ctx, nil); err != nil {
		return nil, err
	}
	if err := a.checkStray(ctx, a.store, nil); err != nil {
		return nil, err
	}
	if err := a.createSchema(ctx); err != nil {
		return nil, fmt.Errorf("sqlassign: new: %w", err)
	}
	if err := a.checkServerDurable(ctx, nil); err != nil {
		return nil, err
	}
	return a, nil
}

// checkFoundRows makes sure a MySQL connection reports the rows an UPDATE matched, not only those
// it changed: a renewal that writes the values a row already holds must not look like a lost lease.
// It updates a row of a temporary table to the value it holds and counts the rows affected.
func checkFoundRows(ctx context.Context, db *sql.DB) error {
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlassign: new: %w", err)
	}
	defer c.Close()
	for _, s := range []string{
		"CREATE TEMPORARY TABLE IF NOT EXISTS snowfall_found_rows (x INT NOT NULL)",
		"DELETE FROM snowfall_found_rows",
		"INSERT INTO snowfall_found_rows (x) VALUES (1)",
	} {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("sqlassign: new: check clientFoundRows: %w", err)
		}
	}
	res, err := c.ExecContext(ctx, "UPDATE snowfall_found_rows SET x = 1")
	if err != nil {
		return fmt.Errorf("sqlassign: new: check clientFoundRows: %w", err)
	}
	c.ExecContext(ctx, "DROP TEMPORARY TABLE snowfall_found_rows")
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return errors.New("sqlassign: new: the MySQL pool reports changed rows, not matched ones: add clientFoundRows=true to its DSN")
	}
	return nil
}
