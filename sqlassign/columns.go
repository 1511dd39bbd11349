package sqlassign

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// checkSession refuses a PostgreSQL or MySQL/MariaDB session whose settings would make the store's
// statements mean something else than they say, read as the session has them, whatever set them
// (the URL, the role's or the database's settings, the server's defaults):
//
//   - PostgreSQL: the operators and functions of the statements (=, <, COUNT, …) are not
//     schema-qualified, so each must resolve to pg_catalog's: pg_catalog must come first in the
//     effective search path (pg_catalog.current_schemas(true), the session's temporary schema
//     aside, which is never searched for operators or functions). A search_path that names
//     pg_catalog after another schema lets an '=' of that schema decide which rows a release or a
//     claim reaches.
//   - MySQL/MariaDB: sql_mode must be strict (STRICT_TRANS_TABLES or STRICT_ALL_TABLES), so that a
//     value a column cannot hold is an error, never clamped or cut: a mark or an expiry stored
//     lower than written repeats IDs.
//
// Open and New call it before any statement reads or writes the store; every connection of the
// pool is made with the same settings.
func (a *Assigner) checkSession(ctx context.Context, classify func(error) string) error {
	switch a.d.name {
	case "postgres":
		return a.checkSearchPath(ctx, classify)
	case "mysql":
		return a.checkSQLMode(ctx, classify)
	}
	return nil
}

// checkSearchPath: see checkSession. Its statements qualify every function and operator they use.
// The property is that no schema on the session's path but pg_catalog defines an operator or a
// function of a name the statements use (pgUsedOperators, pgUsedFunctions), and pg_catalog holds
// none of those names but the system's own: with pg_catalog first, one of a later schema still wins where its argument types match
// more closely ('=' for character varying, which pg_catalog compares as text), so the order of the
// path is not enough. Open pins the path to pg_catalog alone (sqlassign/postgres); a pool given to
// New has the path its owner set, and is refused if a schema on it defines any.
func (a *Assigner) checkSearchPath(ctx context.Context, classify func(error) string) error {
	var schemas, path string
	if err := a.db.QueryRowContext(ctx, "SELECT pg_catalog.current_schemas(true)::pg_catalog.text, pg_catalog.current_setting('search_path')").Scan(&schemas, &path); err != nil {
		return redact.Wrap("sqlassign: read the search path at", a.url, err, classify)
	}
	var shadow, kind string
	err := a.db.QueryRowContext(ctx, "SELECT n.nspname, k.kind FROM pg_catalog.pg_namespace n JOIN ("+
		"SELECT o.oprnamespace AS ns, o.oid AS id, 'operator ' OPERATOR(pg_catalog.||) o.oprname AS kind FROM pg_catalog.pg_operator o"+
		" WHERE o.oprname OPERATOR(pg_catalog.=) ANY ($1)"+
		" UNION ALL SELECT p.pronamespace, p.oid, 'function ' OPERATOR(pg_catalog.||) p.proname FROM pg_catalog.pg_proc p"+
		" WHERE p.proname OPERATOR(pg_catalog.=) ANY ($2)) k ON k.ns OPERATOR(pg_catalog.=) n.oid"+
		" WHERE (n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(false)) AND n.nspname OPERATOR(pg_catalog.<>) 'pg_catalog')"+
		// In pg_catalog, only the system's own (OIDs below FirstNormalObjectId): a superuser or an
		// extension can create one there too (red team round 6: an '=' for varchar in pg_catalog).
		" OR (n.nspname OPERATOR(pg_catalog.=) 'pg_catalog' AND k.id OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid)"+
		" ORDER BY 1, 2 LIMIT 1", pgUsedOperators, pgUsedFunctions).Scan(&shadow, &kind)
	if err == sql.ErrNoRows {
		return nil
	}
	if err != nil {
		return redact.Wrap("sqlassign: read the search path at", a.url, err, classify)
	}
	return fmt.Errorf("sqlassign: open %s: the session's search path is %s (search_path=%s), and the schema %s on it defines the %s (want no schema but pg_catalog on the path to define an operator or function the store's statements name): "+
		"the store's statements do not qualify their operators and functions, and one of another schema (an '=' that is always true, say) would decide "+
		"which rows a claim or a release reaches, and duplicate IDs; sqlassign.Open sets search_path=pg_catalog itself; for a pool given to sqlassign.New, "+
		"set search_path=pg_catalog in its connection settings",
		a.url, schemas, path, shadow, kind)
}

// pgUsedOperators and pgUsedFunctions are the operators and functions the store's PostgreSQL
// statements name without a schema (GREATEST, COALESCE and CAST are constructs, not functions).
var (
	pgUsedOperators = []string{"=", "<>", "<", "<=", ">", ">=", "+", "-", "*", "/"}
	pgUsedFunctions = []string{"count", "statement_timestamp", "extract", "date_part", "pg_advisory_xact_lock"}
)

// checkSQLMode: see checkSession.
func (a *Assigner) checkSQLMode(ctx context.Context, classify func(error) string) error {
	var mode string
	if err := a.db.QueryRowContext(ctx, "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil {
		return redact.Wrap("sqlassign: read sql_mode at", a.url, err, classify)
	}
	for _, m := range strings.Split(strings.ToUpper(mode), ",") {
		if m == "STRICT_TRANS_TABLES" || m == "STRICT_ALL_TABLES" {
			return nil
		}
	}
	return fmt.Errorf("sqlassign: open %s: the session's sql_mode is %q, which is not strict (want STRICT_TRANS_TABLES or STRICT_ALL_TABLES in it, as in the server's default): "+
		"a value a column cannot hold would be clamped or cut instead of refused, and a lease mark or expiry stored lower than written means duplicate IDs; "+
		"remove sql_mode from the URL, or add STRICT_TRANS_TABLES to it (and to the server's or global sql_mode: SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',STRICT_TRANS_TABLES'))",
		a.url, mode)
}

// storeColumn is a column of a table of the store as Snowfall creates it (see schema, and
// checkShared for snowfall_checks): its type as PostgreSQL's format_type and MySQL's COLUMN_TYPE
// show it, and its definition, for the fix.
type storeColumn struct {
	name, pg, mysql, def string
}

// storeColumns returns the columns of each of the store's tables by bare name.
func (a *Assigner) storeColumns() map[string][]storeColumn {
	props, manifest := a.durableTables()
	big := func(name, def string) storeColumn { return storeColumn{name, "bigint", "bigint", "BIGINT " + def} }
	vc := func(name string, n int, def string) storeColumn {
		return storeColumn{name, fmt.Sprintf("character varying(%d)", n), fmt.Sprintf("varchar(%d)", n), fmt.Sprintf("VARCHAR(%d) %s", n, def)}
	}
	return map[string][]storeColumn{
		props: {vc("name", 64, "NOT NULL"), vc("value", 1024, "NOT NULL")},
		manifest: {big("generator", "NOT NULL"), vc("token", 64, "NOT NULL DEFAULT ''"), big("expires_ms", "NOT NULL DEFAULT 0"),
			big("mark_ms", "NOT NULL DEFAULT 0"), big("claimed_ms", "NOT NULL DEFAULT 0"), big("renewed_ms", "NOT NULL DEFAULT 0"),
			vc("host", 255, "NOT NULL DEFAULT ''"), big("pid", "NOT NULL DEFAULT 0"), big("version", "NOT NULL DEFAULT 0")},
		checksTable: {vc("nonce", 64, "NOT NULL"), big("created_ms", "NOT NULL")},
	}
}

// mysqlWidth is the display width MariaDB and MySQL before 8.0.19 show in an integer's COLUMN_TYPE.
var mysqlWidth = regexp.MustCompile(`^(bigint)\(\d+\)$`)

// checkColumns refuses a PostgreSQL or MySQL/MariaDB store one of whose tables (the group's
// properties and manifest, and snowfall_checks when it exists) has a column of another type than
// Snowfall creates, or a generated one: a NUMERIC with a negative scale rounds a mark, an INT
// clamps or refuses it, a generated column is not what was written. Each value written must be
// read back as it was: a mark or an expiry read lower than written repeats IDs. The error names
// the table, the column, the type found, the one wanted and the fix. Other columns are not
// Snowfall's; they are let be.
func (a *Assigner) checkColumns(ctx context.Context, classify func(error) string) error {
	var q string
	props, manifest := a.durableTables()
	switch a.d.name {
	case "postgres":
		q = "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attgenerated <> '' FROM pg_catalog.pg_attribute a" +
			" JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" +
			" WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4) AND a.attnum > 0 AND NOT a.attisdropped"
	case "mysql":
		q = "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, EXTRA LIKE '%GENERATED%' FROM information_schema.COLUMNS" +
			" WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?, ?, ?)"
	default:
		return nil
	}
	wrap := func(err error) error {
		return redact.Wrap("sqlassign: read the tables' column types at", a.url, err, classify)
	}
	rows, err := a.db.QueryContext(ctx, q, a.schemaName, props, manifest, checksTable)
	if err != nil {
		return wrap(err)
	}
	defer rows.Close()
	type found struct {
		typ       string
		generated bool
	}
	have := map[string]map[string]found{}
	for rows.Next() {
		var table, column, typ string
		var generated bool
		if err := rows.Scan(&table, &column, &typ, &generated); err != nil {
			return wrap(err)
		}
		if have[table] == nil {
			have[table] = map[string]found{}
		}
		have[table][column] = found{typ, generated}
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	for _, table := range []string{props, manifest, checksTable} {
		cols, ok := have[table]
		if !ok && table == checksTable {
			continue
		}
		qualified := a.quoted(table)
		for _, c := range a.storeColumns()[table] {
			f, ok := cols[c.name]
			want := c.pg
			fix := "ALTER TABLE " + qualified + " ALTER COLUMN " + c.name + " TYPE " + c.pg
			typ := strings.ToLower(f.typ)
			if a.d.name == "mysql" {
				want = c.mysql
				fix = "ALTER TABLE " + qualified + " MODIFY COLUMN " + c.name + " " + c.def
				typ = mysqlWidth.ReplaceAllString(typ, "$1")
			}
			switch {
			case !ok:
				return fmt.Errorf("sqlassign: open %s: the table %s has no column %s (want %s, as Snowfall creates it); drop the table, and Snowfall creates it",
					a.url, qualified, c.name, want)
			case f.generated:
				return fmt.Errorf("sqlassign: open %s: the column %s of the table %s is generated (want a stored %s that holds what is written, as Snowfall creates it): "+
					"a lease's mark or expiry would not read back as written, and a claim could start below IDs already issued, and duplicate IDs; "+
					"drop it and add it again: ALTER TABLE %s DROP COLUMN %s, ADD COLUMN %s %s",
					a.url, c.name, qualified, want, qualified, c.name, c.name, c.def)
			case typ != want:
				return fmt.Errorf("sqlassign: open %s: the column %s of the table %s has the type %s (want %s, as Snowfall creates it): "+
					"a value it cannot hold exactly (a lease's mark or expiry, in Unix milliseconds) would be rounded, cut or refused, and a lease "+
					"could look expired or a claim start below IDs already issued: duplicate IDs; stop the servers on the store, convert it: %s, "+
					"and raise the marks above any ID issued (snowfall leases raise-marks) before starting them again",
					a.url, c.name, qualified, f.typ, want, fix)
			}
		}
	}
	return nil
}

// checkKeys refuses a store whose manifest has no unique index on generator alone, or whose
// properties have none on name alone (a primary key, as Snowfall creates them, or a unique
// index, not partial, not on an expression, enforced at once): Prepare's insert-if-absent and a
// claim's update rest on one row per generator id. Without it two first users each insert every
// id, and a free copy of a row another server holds can be claimed: two holders of one id, and
// duplicate IDs (red team round 6, a table made by CREATE TABLE … (LIKE …), or restored without
// its constraints).
func (a *Assigner) checkKeys(ctx context.Context, classify func(error) string) error {
	props, manifest := a.durableTables()
	var q string
	switch a.d.name {
	case "postgres":
		q = "SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid" +
			" JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace" +
			" JOIN pg_catalog.pg_attribute t ON t.attrelid = c.oid AND t.attnum = i.indkey[0]" +
			" WHERE n.nspname = $1 AND c.relname = $2 AND t.attname = $3 AND i.indisunique AND i.indnatts = 1" +
			" AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indimmediate AND i.indisvalid AND i.indisready AND i.indislive"
	case "mysql":
		q = "SELECT count(*) FROM information_schema.STATISTICS s WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.COLUMN_NAME = ?" +
			" AND s.NON_UNIQUE = 0 AND s.SEQ_IN_INDEX = 1 AND (SELECT count(*) FROM information_schema.STATISTICS o" +
			" WHERE o.TABLE_SCHEMA = s.TABLE_SCHEMA AND o.TABLE_NAME = s.TABLE_NAME AND o.INDEX_NAME = s.INDEX_NAME) = 1"
	case "sqlite":
		q = "SELECT count(*) FROM pragma_index_list(?2) l WHERE ?1 = ?1 AND l.\"unique\" = 1 AND l.partial = 0" +
			" AND (SELECT count(*) FROM pragma_index_info(l.name)) = 1 AND (SELECT i.name FROM pragma_index_info(l.name) i) = ?3"
	default:
		return nil
	}
	for _, k := range []struct{ table, column string }{{manifest, "generator"}, {props, "name"}} {
		var n int
		if err := a.db.QueryRowContext(ctx, q, a.schemaName, k.table, k.column).Scan(&n); err != nil {
			return redact.Wrap("sqlassign: read the tables' keys at", a.url, err, classify)
		}
		if n > 0 {
			continue
		}
		qualified := a.quoted(k.table)
		return fmt.Errorf("sqlassign: open %s: the table %s has no primary key or unique index on %s alone (want PRIMARY KEY (%s), as Snowfall creates it): "+
			"the store keeps one row per %s, and without the key two servers could insert and claim copies of one generator id, and duplicate IDs; "+
			"stop the servers on the store, remove duplicate rows, and add it: ALTER TABLE %s ADD PRIMARY KEY (%s)",
			a.url, qualified, k.column, k.column, k.column, qualified, k.column)
	}
	return nil
}
