package sqlassign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// groupRE is what a group name may hold: it becomes part of the table names.
var groupRE = regexp.MustCompile(`^[a-z0-9_]{0,40}$`)

// tableNames returns the properties and manifest tables of a group.
func tableNames(group string) (props, manifest string, err error) {
	if !groupRE.MatchString(group) {
		return "", "", fmt.Errorf("sqlassign: group %q: want up to 40 lower-case letters, digits and underscores", group)
	}
	p := "snowfall_"
	if group != "" {
		p += group + "_"
	}
	return p + "properties", p + "manifest", nil
}

// pgSchema is the schema of the tables on PostgreSQL. Every statement names it: a name the
// search_path resolved would be a per-role table wherever a role has a schema named after itself
// (the default search_path is "$user", public) or a search_path of its own (ALTER ROLE … SET
// search_path, a URL's options), and servers connecting as two roles would each lease from a
// manifest of their own.
const pgSchema = "public"

// qualify sets the table names of a to those of group in schema (PostgreSQL: always pgSchema;
// MySQL: the database the URL or the pool names), so that no session setting decides which tables
// a statement reaches.
func (a *Assigner) qualify(group, schema string) error {
	props, manifest, err := tableNames(group)
	if err != nil {
		return err
	}
	a.bare = manifest
	switch a.d.name {
	case "postgres":
		a.schemaName = pgSchema
		a.prefix = pgSchema + "."
	case "mysql":
		if schema == "" {
			return errors.New("sqlassign: the MySQL connection names no database: name one in its URL or DSN (mysql://user:password@host:port/database)")
		}
		a.schemaName = schema
		a.prefix = "`" + strings.ReplaceAll(schema, "`", "``") + "`."
	}
	a.props, a.manifest = a.prefix+props, a.prefix+manifest
	return nil
}

// checkStray returns an error if the database holds a table named like the group's manifest in
// another schema than pgSchema (PostgreSQL): one that servers of an earlier version, which named
// their tables through the search_path, or a search_path of their own, may lease from. Leasing from
// pgSchema's beside it would split the store; the operator must move the leases or drop the table.
// It reads the catalog, which every user may; temporary tables (of a session) are not a store.
func (a *Assigner) checkStray(ctx context.Context, display string, classify func(error) string) error {
	if a.d.name != "postgres" {
		return nil
	}
	stray, err := a.strayManifests(ctx)
	if err != nil {
		return redact.Wrap("sqlassign: look for the manifest in other schemas at", display, err, classify)
	}
	if len(stray) > 0 {
		return fmt.Errorf("sqlassign: %s holds the manifest %s, and this version leases from %s whoever it connects as: "+
			"servers of an earlier version (which named their tables through the search_path) may lease from the other; stop them, "+
			"raise the marks of %s above those of the other (snowfall leases raise-marks), and drop or rename %s before starting this one",
			display, strings.Join(stray, " and "), a.manifest, a.manifest, strings.Join(stray, ", "))
	}
	return nil
}

// strayManifests returns the tables named like the manifest in other schemas than a's (see
// checkStray), qualified.
func (a *Assigner) strayManifests(ctx context.Context) ([]string, error) {
	rows, err := a.db.QueryContext(ctx, "SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"+
		" WHERE c.relname = $1 AND n.nspname <> $2 AND c.relpersistence <> 't' ORDER BY n.nspname", a.bare, a.schemaName)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var stray []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		stray = append(stray, pgIdent(s)+"."+a.bare)
	}
	return stray, rows.Err()
}

// pgIdent quotes a PostgreSQL identifier that needs it, for messages.
func pgIdent(s string) string {
	if regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`).MatchString(s) {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoted returns bare, a table (or a trigger) of the store's schema, qualified and quoted as the
// dialect quotes identifiers (PostgreSQL: pgIdent; MySQL: backquotes), as an error's fix names it.
func (a *Assigner) quoted(bare string) string {
	if a.d.name == "mysql" {
		return a.prefix + "`" + strings.ReplaceAll(bare, "`", "``") + "`"
	}
	return a.prefix + pgIdent(bare)
}

// schema returns the statements that create the tables; they are idempotent.
func (a *Assigner) schema() []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS ` + a.props + ` (
	name VARCHAR(64) NOT NULL PRIMARY KEY,
	value VARCHAR(1024) NOT NULL
)`,
		// One row per generator id. Times are Unix milliseconds: expires_ms, claimed_ms and
		// renewed_ms from the database's clock, mark_ms (the high-water mark) from the holder's.
		// version counts the row's claims and releases: a claim is conditioned on it (and on
		// mark_ms), so that a claim delivered twice cannot succeed twice. Tables made before it
		// existed get it from addVersion.
		`CREATE TABLE IF NOT EXISTS ` + a.manifest + ` (
	generator BIGINT NOT NULL PRIMARY KEY,
	token VARCHAR(64) NOT NULL DEFAULT '',
	expires_ms BIGINT NOT NULL DEFAULT 0,
	mark_ms BIGINT NOT NULL DEFAULT 0,
	claimed_ms BIGINT NOT NULL DEFAULT 0,
	renewed_ms BIGINT NOT NULL DEFAULT 0,
	host VARCHAR(255) NOT NULL DEFAULT '',
	pid BIGINT NOT NULL DEFAULT 0,
	version BIGINT NOT NULL DEFAULT 0
)`,
	}
}

// createSchema creates the tables if they do not exist, and adds the version column to a manifest
// table made by an earlier version (addVersion). Tables that exist and have the column need no
// statement but a read (see privileges.go: a lease user may not create or alter tables). Concurrent
// first-time CREATE TABLE IF NOT EXISTS can fail on PostgreSQL (a unique violation in its catalog),
// so there it runs under a transaction-scoped advisory lock; every dialect also retries a few times
// (MySQL's concurrent ALTER TABLE of the same table fails with a duplicate column in all but one,
// whose retry then finds the column).
func (a *Assigner) createSchema(ctx context.Context) error {
	if a.tablesExist(ctx) { // see privileges.go
		if a.hasVersion(ctx) {
			return nil
		}
		if err := a.retry(ctx, "add the version column", func(ctx context.Context) error {
			return a.schemaTx(ctx, func(tx *sql.Tx) error { return a.addVersion(ctx, tx) })
		}); err != nil {
			return &versionError{manifest: a.manifest, err: err}
		}
		return nil
	}
	return a.retry(ctx, "create schema", func(ctx context.Context) error {
		return a.schemaTx(ctx, func(tx *sql.Tx) error {
			for _, s := range a.schema() {
				if _, err := tx.ExecContext(ctx, s); err != nil {
					return err
				}
			}
			return a.addVersion(ctx, tx)
		})
	})
}

// versionError reports a manifest table of an earlier version whose version column could not be
// added (a lease user may not alter tables).
type versionError struct {
	manifest string
	err      error
}

// Error says what to do, in words of its own: err's text may hold a driver's words (see wrap).
func (e *versionError) Error() string {
	return "the manifest table " + e.manifest + ", made by an earlier version, lacks the version column that claims are " +
		"conditioned on, and adding it failed: run this version's snowfall schema create as the tables' owner (a user " +
		"that may alter them) before its servers"
}

func (e *versionError) Unwrap() error { return e.err }

// schemaError returns the error of Open or New for err from createSchema at display: the operation,
// the store and the class of the cause (redact.Wrap: never a driver's words), after what to do
// when the cause is a versionError.
func schemaError(display string, err error, classify func(error) string) error {
	var v *versionError
	if errors.As(err, &v) {
		return fmt.Errorf("sqlassign: %s: %w", v.Error(), redact.Wrap("sqlassign: add the version column at", display, v.err, classify))
	}
	return redact.Wrap("sqlassign: create the tables at", display, err, classify)
}

// schemaTx runs f in a transaction that, on PostgreSQL, holds the group's advisory lock, and
// commits it.
func (a *Assigner) schemaTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if a.d.name == "postgres" {
		h := fnv.New64a()
		h.Write([]byte("snowfall schema " + a.manifest))
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(h.Sum64())); err != nil {
			return err
		}
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// hasVersion reports whether the manifest table has the version column, with a statement that reads
// no rows (and needs only SELECT).
func (a *Assigner) hasVersion(ctx context.Context) bool {
	var n int64
	return a.db.QueryRowContext(ctx, "SELECT COUNT(version) FROM "+a.manifest+" WHERE 1 = 0").Scan(&n) == nil
}

// addVersion adds the version column to a manifest table that lacks it (one made before claims were
// conditioned on it), with every row at version 0. Servers of the earlier version may still be
// running on the table: they neither read nor write the column, which is safe (see the package
// documentation, "Upgrading").
func (a *Assigner) addVersion(ctx context.Context, tx *sql.Tx) error {
	var q string
	switch a.d.name {
	case "postgres":
		// The table the qualified name names, as in every other statement.
		q = "SELECT COUNT(*) FROM pg_attribute WHERE attrelid = CAST($1 AS regclass) AND attname = 'version' AND NOT attisdropped"
	case "mysql":
		q = "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = 'version'"
	default:
		q = "SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'version'"
	}
	args := []any{a.manifest}
	if a.d.name == "mysql" {
		args = []any{a.schemaName, a.bare}
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return fmt.Errorf("look for the version column of %s: %w", a.manifest, err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "ALTER TABLE "+a.manifest+" ADD COLUMN version BIGINT NOT NULL DEFAULT 0"); err != nil {
		return fmt.Errorf("add the version column to %s: %w", a.manifest, err)
	}
	return nil
}

// Prepare makes sure the manifest has a row for every generator id in [0, size). Claim calls it
// the first time; it is idempotent and safe to run from several processes at once.
func (a *Assigner) Prepare(ctx context.Context, size int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if size <= a.prepared {
		return nil
	}
	var n int64
	if err := a.db.QueryRowContext(ctx, a.d.q("SELECT COUNT(*) FROM "+a.manifest+" WHERE generator < ?"), size).Scan(&n); err != nil {
		return a.fail("count generator ids", err)
	}
	const batch = 256
	for lo := int64(0); n < size && lo < size; lo += batch {
		hi := min(lo+batch, size)
		var b strings.Builder
		b.WriteString(a.d.insertPrefix + " " + a.manifest + " (generator) VALUES ")
		for id := lo; id < hi; id++ {
			if id > lo {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "(%d)", id)
		}
		b.WriteString(a.d.insertSuffix)
		if _, err := a.db.ExecContext(ctx, b.String()); err != nil {
			return fmt.Errorf("sqlassign: add generator ids %d to %d: %w", lo, hi-1, err)
		}
	}
	a.prepared = size
	return nil
}

// Drop deletes the manifest's tables, and with them every lease and property. Tests use it.
func (a *Assigner) Drop(ctx context.Context) error {
	for _, t := range []string{a.manifest, a.props} {
		if _, err := a.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return fmt.Errorf("sqlassign: drop %s: %w", t, err)
		}
	}
	return nil
}

// checksTable holds the nonces of checkShared: one row per check, deleted by the check. It has no
// group: every group's check uses it. Statements qualify it as they do the group's tables.
const checksTable = "snowfall_checks"
