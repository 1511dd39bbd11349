package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// checkServerDurable refuses a PostgreSQL or MySQL/MariaDB store whose committed claims and marks
// would not survive a crash of the database, as checkDurable does for SQLite: it reads the
// effective state once the tables exist, whatever the URL, the server's defaults, the role's
// settings or an earlier ALTER TABLE made of it. On MySQL/MariaDB every table of the group (and
// snowfall_checks, when it exists) must use InnoDB: a MEMORY table, for one, comes back empty
// after a restart, and the next claim of an id would start with no floor, repeating IDs. On
// PostgreSQL the session's synchronous_commit must not be off (a crash loses the last commits that
// returned) and the tables must not be UNLOGGED (a crash empties them). The error names the table
// or the setting, the value found, the allowed ones and the fix. SQLite: see checkDurable.
func (a *Assigner) checkServerDurable(ctx context.Context, classify func(error) string) error {
	switch a.d.name {
	case "mysql":
		return a.checkEngines(ctx, classify)
	case "postgres":
		return a.checkPgDurable(ctx, classify)
	}
	return nil
}

// durableTables returns the bare names of the tables whose state the leases need: the group's
// properties and manifest, which must exist, and snowfall_checks, which may not.
func (a *Assigner) durableTables() (props, manifest string) {
	return strings.TrimPrefix(a.props, a.prefix), a.bare
}

// checkEngines refuses a MySQL/MariaDB table of the store whose engine is not InnoDB.
func (a *Assigner) checkEngines(ctx context.Context, classify func(error) string) error {
	props, manifest := a.durableTables()
	rows, err := a.db.QueryContext(ctx, "SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?, ?) ORDER BY TABLE_NAME", a.schemaName, props, manifest, checksTable)
	if err != nil {
		return redact.Wrap("sqlassign: read the storage engines at", a.url, err, classify)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var name string
		var engine sql.NullString
		if err := rows.Scan(&name, &engine); err != nil {
			return redact.Wrap("sqlassign: read the storage engines at", a.url, err, classify)
		}
		found[name] = true
		if strings.EqualFold(engine.String, "InnoDB") {
			continue
		}
		e := engine.String
		if !engine.Valid {
			e = "none (a view?)"
		}
		table := a.prefix + "`" + strings.ReplaceAll(name, "`", "``") + "`"
		return fmt.Errorf("sqlassign: open %s: the table %s uses the storage engine %s, whose commits do not survive a crash of the database (want InnoDB): "+
			"a restart could bring back a lower lease mark, or none, and duplicate IDs; convert it with ALTER TABLE %s ENGINE=InnoDB",
			a.url, table, e, table)
	}
	if err := rows.Err(); err != nil {
		return redact.Wrap("sqlassign: read the storage engines at", a.url, err, classify)
	}
	for _, n := range []string{props, manifest} {
		if !found[n] {
			return fmt.Errorf("sqlassign: open %s: information_schema.TABLES does not list the table %s%s, so its storage engine cannot be checked (want InnoDB)",
				a.url, a.prefix, n)
		}
	}
	return nil
}

// pgDurableCommits are the values of synchronous_commit under which a commit that returned survives
// a crash of the server: all but off.
var pgDurableCommits = []string{"on", "remote_apply", "remote_write", "local"}

// checkPgDurable refuses a PostgreSQL session with synchronous_commit off, or a table of the store
// that is UNLOGGED.
func (a *Assigner) checkPgDurable(ctx context.Context, classify func(error) string) error {
	var commit string
	if err := a.db.QueryRowContext(ctx, "SHOW synchronous_commit").Scan(&commit); err != nil {
		return redact.Wrap("sqlassign: read synchronous_commit at", a.url, err, classify)
	}
	commit = strings.ToLower(strings.TrimSpace(commit))
	ok := false
	for _, v := range pgDurableCommits {
		ok = ok || v == commit
	}
	if !ok {
		return fmt.Errorf("sqlassign: open %s: synchronous_commit=%s does not make a commit durable (want on, remote_apply, remote_write or local; the default is on): "+
			"a crash of the server could bring back a lower lease mark, and duplicate IDs; remove the setting from the URL's options, the role or the database (ALTER ROLE/DATABASE … RESET synchronous_commit)",
			a.url, commit)
	}
	props, manifest := a.durableTables()
	var unlogged []string
	rows, err := a.db.QueryContext(ctx, "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"+
		" WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4) AND c.relpersistence = 'u' ORDER BY c.relname", a.schemaName, props, manifest, checksTable)
	if err != nil {
		return redact.Wrap("sqlassign: read the tables' persistence at", a.url, err, classify)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return redact.Wrap("sqlassign: read the tables' persistence at", a.url, err, classify)
		}
		unlogged = append(unlogged, a.prefix+pgIdent(name))
	}
	if err := rows.Err(); err != nil {
		return redact.Wrap("sqlassign: read the tables' persistence at", a.url, err, classify)
	}
	if len(unlogged) > 0 {
		fix := make([]string, len(unlogged))
		for i, t := range unlogged {
			fix[i] = "ALTER TABLE " + t + " SET LOGGED"
		}
		return fmt.Errorf("sqlassign: open %s: %s UNLOGGED, and a crash of the server empties it (want a logged table): "+
			"the next claim would start with no lease mark, and duplicate IDs; convert it: %s",
			a.url, strings.Join(unlogged, " and ")+map[bool]string{true: " is", false: " are"}[len(unlogged) == 1], strings.Join(fix, "; "))
	}
	return nil
}
