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
// returned) and each table must be an ordinary, logged table that no other inherits from (a crash
// empties an UNLOGGED one, and the rows of a view, a partitioned table or an inheriting table are
// held elsewhere: see checkPgRelations). The error names the table or the setting, the value
// found, the allowed ones and the fix. SQLite: see checkDurable.
//
// Each column of the store's tables must have the type Snowfall creates (checkColumns): one that
// rounds or clamps a mark or an expiry repeats IDs.
//
// On every database, SQLite included, no table of the store may have a trigger (or, on
// PostgreSQL, a rule): one can send a claim's or a renewal's row elsewhere, or change the mark it
// writes, and the store would no longer hold what the leases read back (checkTriggers).
func (a *Assigner) checkServerDurable(ctx context.Context, classify func(error) string) error {
	var err error
	switch a.d.name {
	case "mysql":
		err = a.checkEngines(ctx, classify)
	case "postgres":
		err = a.checkPgDurable(ctx, classify)
	}
	if err != nil {
		return err
	}
	if err := a.checkColumns(ctx, classify); err != nil {
		return err
	}
	if err := a.checkKeys(ctx, classify); err != nil {
		return err
	}
	return a.checkTriggers(ctx, classify)
}

// checkTriggers refuses a store one of whose tables has a trigger, or a rule (PostgreSQL): Snowfall
// creates none, and one made by someone else can write a claim's or a renewal's row somewhere
// else (an UNLOGGED table, another row), or lower the mark it records, so that a later claim starts
// below IDs already issued.
func (a *Assigner) checkTriggers(ctx context.Context, classify func(error) string) error {
	props, manifest := a.durableTables()
	var q string
	var args []any
	switch a.d.name {
	case "postgres":
		q = "SELECT c.relname, t.tgname FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid" +
			" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = $1 AND c.relname IN ($2, $3, $4)" +
			" UNION ALL SELECT c.relname, r.rulename FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class" +
			" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4) AND r.rulename <> '_RETURN'" +
			" ORDER BY 1, 2"
		args = []any{a.schemaName, props, manifest, checksTable}
	case "mysql":
		q = "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE IN (?, ?, ?)" +
			" ORDER BY 1, 2"
		args = []any{a.schemaName, props, manifest, checksTable}
	case "sqlite":
		q = "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (?, ?, ?) ORDER BY 1, 2"
		args = []any{props, manifest, checksTable}
	default:
		return nil
	}
	var table, name string
	err := a.db.QueryRowContext(ctx, q, args...).Scan(&table, &name)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return redact.Wrap("sqlassign: read the tables' triggers at", a.url, err, classify)
	}
	what, drop := "trigger", ""
	switch a.d.name {
	case "postgres":
		qualified := a.quoted(table)
		drop = "DROP TRIGGER " + pgIdent(name) + " ON " + qualified
		if !a.pgHasTrigger(ctx, table, name) {
			what, drop = "rule", "DROP RULE "+pgIdent(name)+" ON "+qualified
		}
		table = qualified
	case "mysql":
		table = a.quoted(table)
		drop = "DROP TRIGGER " + a.quoted(name) // a trigger lives in the table's database
	default:
		drop = "DROP TRIGGER \"" + strings.ReplaceAll(name, `"`, `""`) + "\""
	}
	return fmt.Errorf("sqlassign: open %s: the table %s has a %s, %q (want none, as Snowfall creates it): a trigger or rule can write a claim's or a renewal's row "+
		"somewhere else, or lower the mark it records, so that a later claim starts below IDs already issued; remove it: %s",
		a.url, table, what, name, drop)
}

// pgHasTrigger reports whether table has a trigger named name (else the name is a rule's).
func (a *Assigner) pgHasTrigger(ctx context.Context, table, name string) bool {
	var n int
	err := a.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"+
		" JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2 AND t.tgname = $3", a.schemaName, table, name).Scan(&n)
	return err == nil && n > 0
}

// durableTables returns the bare names of the tables whose state the leases need: the group's
// properties and manifest, which must exist, and snowfall_checks, which may not.
func (a *Assigner) durableTables() (props, manifest string) {
	return strings.TrimPrefix(a.props, a.prefix), a.bare
}

// checkEngines refuses a MySQL/MariaDB table of the store whose engine is not InnoDB.
func (a *Assigner) checkEngines(ctx context.Context, classify func(error) string) error {
	props, manifest := a.durableTables()
	rows, err := a.db.QueryContext(ctx, "SELECT TABLE_NAME, TABLE_TYPE, ENGINE FROM information_schema.TABLES"+
		" WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?, ?) ORDER BY TABLE_NAME", a.schemaName, props, manifest, checksTable)
	if err != nil {
		return redact.Wrap("sqlassign: read the storage engines at", a.url, err, classify)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var name, kind string
		var engine sql.NullString
		if err := rows.Scan(&name, &kind, &engine); err != nil {
			return redact.Wrap("sqlassign: read the storage engines at", a.url, err, classify)
		}
		found[name] = true
		if strings.EqualFold(engine.String, "InnoDB") {
			continue
		}
		table := a.quoted(name)
		if !engine.Valid {
			// A view: its rows are held by the tables it reads, whatever their engines.
			return fmt.Errorf("sqlassign: open %s: %s is a %s with no storage engine of its own (want an InnoDB table, as Snowfall creates it): "+
				"the rows it shows are held by other tables, whose survival of a crash of the database this check cannot vouch for, "+
				"and a restart could bring back a lower lease mark, or none, and duplicate IDs; "+
				"replace it with a table made by CREATE TABLE … ENGINE=InnoDB with the same columns and rows (or drop it, and Snowfall creates one)",
				a.url, table, strings.ToLower(kind))
		}
		e := engine.String
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
// that is not an ordinary, logged table (checkPgRelations).
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
	return a.checkPgRelations(ctx, classify)
}

// pgKinds names the kinds of pg_class.relkind that a table of the store might be found as.
var pgKinds = map[string]string{
	"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table",
	"S": "sequence", "i": "index", "I": "partitioned index", "c": "composite type", "t": "TOAST table",
}

// pgKind names relkind, as UNLOGGED when persistence is 'u', with its article.
func pgKind(relkind, persistence string) string {
	k, ok := pgKinds[relkind]
	if !ok {
		k = "relation of kind " + relkind
	}
	if persistence == "u" {
		k = "UNLOGGED " + k
	}
	if strings.ContainsAny(k[:1], "aeiouAEIOU") {
		return "an " + k
	}
	return "a " + k
}

// checkPgRelations refuses a store whose rows some relation holds that a crash of the server could
// empty. Each of the store's tables (the group's properties and manifest, which must exist, and
// snowfall_checks, when it exists) must be what Snowfall creates: an ordinary table (relkind 'r'),
// logged (relpersistence 'p'), that no other table inherits from. The persistence of anything else
// tells nothing of where its rows live: those of a partitioned table are in its partitions, those
// of a view in the relations it reads, those of a foreign table on another server, and those of an
// inheriting table are read, updated and locked through the table it inherits from (whose primary
// key does not span them). So the check is on the kind, whatever the relations behind it, and not
// on their persistence: a view over a logged table is refused too.
func (a *Assigner) checkPgRelations(ctx context.Context, classify func(error) string) error {
	props, manifest := a.durableTables()
	wrap := func(err error) error {
		return redact.Wrap("sqlassign: read the tables' kind and persistence at", a.url, err, classify)
	}
	rows, err := a.db.QueryContext(ctx, "SELECT c.relname, c.relkind, c.relpersistence, c.relrowsecurity OR c.relforcerowsecurity"+
		" FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"+
		" WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4) ORDER BY c.relname", a.schemaName, props, manifest, checksTable)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	found := map[string]bool{}
	var unlogged []string
	for rows.Next() {
		var name, kind, persistence string
		var rowSecurity bool
		if err := rows.Scan(&name, &kind, &persistence, &rowSecurity); err != nil {
			return wrap(err)
		}
		found[name] = true
		table := a.quoted(name)
		if rowSecurity {
			// A policy's expression runs on every row a statement reads: a function it calls
			// can rewrite the rows (lower a mark) or hide them, as a trigger could (red team r3).
			return fmt.Errorf("sqlassign: open %s: the table %s has row-level security enabled (want none, as Snowfall creates it): "+
				"a policy decides which rows the store's statements see, and a function it calls can change them, so a claim could start "+
				"below IDs already issued; turn it off: ALTER TABLE %s NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY",
				a.url, table, table)
		}
		if kind != "r" {
			return fmt.Errorf("sqlassign: open %s: %s is %s (want an ordinary table, logged, as Snowfall creates it): "+
				"the rows it shows are held by other relations or none, whose survival of a crash of the server this check cannot vouch for "+
				"(an UNLOGGED partition or table behind it is emptied by one), and the next claim could start with no lease mark, and duplicate IDs; "+
				"replace it with a table made by CREATE TABLE with the same columns and rows (or drop it, and Snowfall creates one)",
				a.url, table, pgKind(kind, ""))
		}
		if persistence == "u" {
			unlogged = append(unlogged, table)
		}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	for _, n := range []string{props, manifest} {
		if !found[n] {
			return fmt.Errorf("sqlassign: open %s: pg_class does not list the table %s%s, so its kind and persistence cannot be checked (want an ordinary, logged table)",
				a.url, a.prefix, pgIdent(n))
		}
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
	// Inheriting tables: a direct one stands for any deeper one.
	rows, err = a.db.QueryContext(ctx, "SELECT p.relname, cn.nspname, c.relname, c.relkind, c.relpersistence FROM pg_catalog.pg_inherits i"+
		" JOIN pg_catalog.pg_class p ON p.oid = i.inhparent JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace"+
		" JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace"+
		" WHERE pn.nspname = $1 AND p.relname IN ($2, $3, $4) ORDER BY p.relname, cn.nspname, c.relname", a.schemaName, props, manifest, checksTable)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	if rows.Next() {
		var parent, schema, child, kind, persistence string
		if err := rows.Scan(&parent, &schema, &child, &kind, &persistence); err != nil {
			return wrap(err)
		}
		table, inheriting := a.quoted(parent), pgIdent(schema)+"."+pgIdent(child)
		return fmt.Errorf("sqlassign: open %s: %s is inherited by %s, %s (want an ordinary table that no other table inherits from, as Snowfall creates it): "+
			"the store's reads, updates and locks reach the inheriting table's rows too, which its primary key does not span and whose survival of a crash "+
			"of the server this check cannot vouch for; a claim could start from a lower lease mark, or none, and duplicate IDs; "+
			"detach it: ALTER TABLE %s NO INHERIT %s",
			a.url, table, inheriting, pgKind(kind, persistence), inheriting, table)
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	return nil
}
