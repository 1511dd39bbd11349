package sqlassign

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// TestPostgresSearchPath (red team r2, pgsearchpath): the store's statements do not qualify their
// operators, so a search_path that names a schema before pg_catalog lets that schema's '=' decide
// which rows a release frees (here: all of them), and another server claims a generator a live one
// holds. Open's sessions search pg_catalog alone, however the URL (search_path, options) or the
// role set the path, and a DSN to which that cannot be added is refused (red team r3: a keyword
// DSN ending in an empty value swallowed it); New refuses a pool on whose path a schema but
// pg_catalog defines an operator or function the statements name, wherever it stands on the path
// (r3: pg_catalog first is not enough, an '=' for character varying matches closer than
// pg_catalog's for text), naming it and the fix. A path of schemas that define none is taken.
func TestPostgresSearchPath(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	sfx := durableSuffix()
	schema, role, group := "sp"+sfx, "sfsp"+sfx, "sp"+sfx
	for _, s := range []string{
		"CREATE SCHEMA " + schema,
		"CREATE FUNCTION " + schema + ".t8(bigint, bigint) RETURNS boolean LANGUAGE sql IMMUTABLE AS" +
			" $$SELECT pg_catalog.int8eq($1, $2) OR pg_catalog.strpos(pg_catalog.current_query(), 'expires_ms = 0') > 0$$",
		"CREATE FUNCTION " + schema + ".tt(text, text) RETURNS boolean LANGUAGE sql STABLE AS" +
			" $$SELECT pg_catalog.texteq($1, $2) OR pg_catalog.strpos(pg_catalog.current_query(), 'expires_ms = 0') > 0$$",
		"CREATE OPERATOR " + schema + ".= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = " + schema + ".t8)",
		"CREATE OPERATOR " + schema + ".= (LEFTARG = text, RIGHTARG = text, FUNCTION = " + schema + ".tt)",
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role, // without it, the role's path skips the schema
		"ALTER ROLE " + role + " SET search_path = " + schema + ", pg_catalog, public",
	} {
		if _, err := admin.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	defer func() {
		admin.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
		admin.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+role)
	}()
	base, err := url.Parse(testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	with := func(query string) string {
		u := *base
		if u.RawQuery != "" {
			query = u.RawQuery + "&" + query
		}
		u.RawQuery = query
		return u.String()
	}
	asRole := *base
	asRole.User = url.User(role)
	bad := schema + ",pg_catalog,public"
	for _, c := range []struct{ name, raw string }{
		{"url", with("search_path=" + url.QueryEscape(bad))},
		{"options", with("options=-c%20search_path%3D" + url.QueryEscape(bad))},
		{"role", asRole.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			pool, err := sql.Open("pgx", c.raw)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			a, err := New(ctx, pool, "postgres", Options{Group: group})
			if err == nil {
				a.Close()
				t.Fatalf("New accepted a pool whose search path is %s", bad)
			}
			t.Log(err)
			for _, w := range []string{"search path is {" + bad + "}", "the schema " + schema + " on it defines the operator =", "set search_path=pg_catalog", "duplicate IDs"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: error %q; want it to name %q", err, w)
				}
			}
			if c.name == "role" {
				return // the role may not create the tables
			}
			a, err = Open(ctx, c.raw, Options{Group: group})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer a.Close()
			defer a.Drop(context.Background())
			var path string
			if err := a.db.QueryRowContext(ctx, "SELECT pg_catalog.current_schemas(true)::pg_catalog.text").Scan(&path); err != nil {
				t.Fatal(err)
			}
			if path != "{pg_catalog}" {
				t.Errorf("Open's sessions search %s; want {pg_catalog}", path)
			}
		})
	}
	t.Run("role/open", func(t *testing.T) {
		a, err := Open(ctx, asRole.String(), Options{Group: group, Unshared: true})
		if err == nil {
			defer a.Close()
			var path string
			if err := a.db.QueryRowContext(ctx, "SELECT pg_catalog.current_schemas(true)::pg_catalog.text").Scan(&path); err != nil {
				t.Fatal(err)
			}
			if path != "{pg_catalog}" {
				t.Errorf("Open's sessions search %s; want {pg_catalog}", path)
			}
			return
		}
		// The role may not create the tables (PostgreSQL 15 and later): the search path is checked
		// before, and would have been named.
		if strings.Contains(err.Error(), "search path") {
			t.Errorf("Open as a role whose search_path is %s: %v", bad, err)
		}
	})
	for _, bad := range []string{"pg_catalog," + schema + ",public", schema + ",public"} {
		t.Run("refused/"+bad, func(t *testing.T) {
			pool, err := sql.Open("pgx", with("search_path="+url.QueryEscape(bad)))
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if a, err := New(ctx, pool, "postgres", Options{Group: group}); err == nil {
				a.Close()
				t.Fatalf("New accepted a pool whose search path %s holds a schema defining '='", bad)
			}
		})
	}
	t.Run("keyword DSN ending in an empty value", func(t *testing.T) {
		u, _ := url.Parse(testdb.Postgres())
		dsn := "host=" + u.Hostname() + " port=" + u.Port() + " user=" + u.User.Username() + " dbname=" + strings.TrimPrefix(u.Path, "/") +
			" sslmode=disable search_path=pg_catalog," + schema + " application_name="
		a, err := Open(ctx, dsn, Options{Group: group})
		if err == nil {
			a.Close()
			t.Fatal("Open accepted a keyword DSN whose last, empty value would swallow search_path=pg_catalog")
		}
		if !strings.Contains(err.Error(), "search_path=pg_catalog cannot be added") {
			t.Errorf("Open: %v; want it to say the path cannot be pinned", err)
		}
	})
	for _, ok := range []string{"public", "pg_catalog,public"} {
		t.Run("ok/"+ok, func(t *testing.T) {
			pool, err := sql.Open("pgx", with("search_path="+url.QueryEscape(ok)))
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			a, err := New(ctx, pool, "postgres", Options{Group: group})
			if err != nil {
				t.Fatalf("New with search_path=%s: %v", ok, err)
			}
			defer a.Close()
			defer a.Drop(context.Background())
		})
	}
}

// pgManifest is the manifest's definition as Snowfall creates it, with the type of some columns
// replaced (red team r2, pgnumeric and mariaint).
func pgManifest(table string, types map[string]string) string {
	cols := []string{"generator BIGINT NOT NULL PRIMARY KEY", "token VARCHAR(64) NOT NULL DEFAULT ''", "expires_ms BIGINT NOT NULL DEFAULT 0",
		"mark_ms BIGINT NOT NULL DEFAULT 0", "claimed_ms BIGINT NOT NULL DEFAULT 0", "renewed_ms BIGINT NOT NULL DEFAULT 0",
		"host VARCHAR(255) NOT NULL DEFAULT ''", "pid BIGINT NOT NULL DEFAULT 0", "version BIGINT NOT NULL DEFAULT 0"}
	for i, c := range cols {
		name, _, _ := strings.Cut(c, " ")
		if typ, ok := types[name]; ok {
			cols[i] = name + " " + typ
		}
	}
	return "CREATE TABLE " + table + " (" + strings.Join(cols, ", ") + ")"
}

// TestPostgresColumnTypes (red team r2, pgnumeric): a manifest made in advance whose expires_ms and
// mark_ms are NUMERIC(20,-5) rounds every expiry and mark to 100 s: a live lease looks expired and
// its mark drops, and two servers issue the same IDs. Open compares the type of each column of the
// store's tables with the one Snowfall creates, and refuses another (or a generated column), naming
// the table, the column, both types and the fix; after the fix it is accepted.
func TestPostgresColumnTypes(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, c := range []struct {
		name               string
		types              map[string]string
		props              string
		column, found, fix string
	}{
		{"numeric", map[string]string{"expires_ms": "NUMERIC(20,-5) NOT NULL DEFAULT 0", "mark_ms": "NUMERIC(20,-5) NOT NULL DEFAULT 0"}, "",
			"expires_ms", "numeric(20,-5)", "ALTER COLUMN expires_ms TYPE bigint"},
		{"integer", map[string]string{"mark_ms": "INTEGER NOT NULL DEFAULT 0"}, "", "mark_ms", "integer", "ALTER COLUMN mark_ms TYPE bigint"},
		{"double", map[string]string{"claimed_ms": "DOUBLE PRECISION NOT NULL DEFAULT 0"}, "", "claimed_ms", "double precision", "ALTER COLUMN claimed_ms TYPE bigint"},
		{"token", map[string]string{"token": "CHAR(8) NOT NULL DEFAULT ''"}, "", "token", "character(8)", "ALTER COLUMN token TYPE character varying(64)"},
		{"props", nil, "name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(16) NOT NULL", "value", "character varying(16)", "ALTER COLUMN value TYPE character varying(1024)"},
		{"generated", map[string]string{"mark_ms": "BIGINT GENERATED ALWAYS AS (0) STORED"}, "", "mark_ms", "generated", "DROP COLUMN mark_ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := "ct" + durableSuffix()
			props, manifest := "public.snowfall_"+group+"_properties", "public.snowfall_"+group+"_manifest"
			if c.props == "" {
				c.props = "name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(1024) NOT NULL"
			}
			defer admin.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+manifest+", "+props)
			for _, s := range []string{"CREATE TABLE " + props + " (" + c.props + ")", pgManifest(manifest, c.types)} {
				if _, err := admin.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			table := manifest
			if c.props != "" && c.types == nil {
				table = props
			}
			wantRefused(t, testdb.Postgres(), Options{Group: group},
				[]string{"the column " + c.column + " of the table " + table, c.found, c.fix, "duplicate IDs"})
			if c.found == "generated" {
				return
			}
			for col := range c.types {
				want := "bigint"
				if col == "token" {
					want = "varchar(64)"
				}
				if _, err := admin.ExecContext(ctx, "ALTER TABLE "+table+" ALTER COLUMN "+col+" TYPE "+want); err != nil {
					t.Fatal(err)
				}
			}
			if c.types == nil {
				if _, err := admin.ExecContext(ctx, "ALTER TABLE "+props+" ALTER COLUMN value TYPE varchar(1024)"); err != nil {
					t.Fatal(err)
				}
			}
			a, err := Open(ctx, testdb.Postgres(), Options{Group: group})
			if err != nil {
				t.Fatalf("Open after the fix: %v", err)
			}
			a.Close()
		})
	}
}

// TestMySQLColumnTypesAndStrict (red team r2, mariaint): a MariaDB manifest made in advance with INT
// time columns, and a URL setting sql_mode=” (not strict): every mark and expiry is clamped to
// 2147483647, and two servers issue the same IDs. Open refuses a column of another type than
// Snowfall creates (naming it, both types and the fix) and a session whose sql_mode is not strict
// (naming the mode and the fix), whatever set it.
func TestMySQLColumnTypesAndStrict(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test")
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	base, err := url.Parse(testdb.MySQL())
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(base.Path, "/")
	with := func(query string) string {
		u := *base
		u.RawQuery = query
		return u.String()
	}
	t.Run("sql_mode", func(t *testing.T) {
		group := "sm" + durableSuffix()
		for _, mode := range []string{"%27%27", "NO_ENGINE_SUBSTITUTION", "%27ANSI_QUOTES%27"} {
			wantRefused(t, with("sql_mode="+mode), Options{Group: group},
				[]string{"sql_mode is", "not strict", "STRICT_TRANS_TABLES", "duplicate IDs"})
		}
		for _, mode := range []string{"", "sql_mode=STRICT_ALL_TABLES", "sql_mode=%27TRADITIONAL%27"} {
			a, err := Open(ctx, with(mode), Options{Group: group})
			if err != nil {
				t.Fatalf("Open with %q: %v", mode, err)
			}
			a.Drop(context.Background())
			a.Close()
		}
	})
	for _, c := range []struct {
		name, column, typ, found, fix string
	}{
		{"int", "mark_ms", "INT NOT NULL DEFAULT 0", "int(11)", "MODIFY COLUMN mark_ms BIGINT NOT NULL DEFAULT 0"},
		{"decimal", "expires_ms", "DECIMAL(20,0) NOT NULL DEFAULT 0", "decimal(20,0)", "MODIFY COLUMN expires_ms BIGINT NOT NULL DEFAULT 0"},
		{"unsigned", "version", "BIGINT UNSIGNED NOT NULL DEFAULT 0", "bigint(20) unsigned", "MODIFY COLUMN version BIGINT NOT NULL DEFAULT 0"},
		{"token", "token", "VARCHAR(8) NOT NULL DEFAULT ''", "varchar(8)", "MODIFY COLUMN token VARCHAR(64) NOT NULL DEFAULT ''"},
		{"generated", "mark_ms", "BIGINT AS (0) VIRTUAL", "generated", "DROP COLUMN mark_ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := "mc" + durableSuffix()
			props, manifest := "snowfall_"+group+"_properties", "snowfall_"+group+"_manifest"
			defer admin.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+manifest+", "+props)
			for _, s := range []string{"CREATE TABLE " + props + " (name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(1024) NOT NULL) ENGINE=InnoDB",
				pgManifest(manifest, map[string]string{c.column: c.typ}) + " ENGINE=InnoDB"} {
				if _, err := admin.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			table := "`" + db + "`.`" + manifest + "`"
			wantRefused(t, testdb.MySQL(), Options{Group: group},
				[]string{"the column " + c.column + " of the table " + table, c.found, c.fix, "duplicate IDs"})
			if c.found == "generated" {
				return
			}
			def := strings.TrimPrefix(c.fix, "MODIFY COLUMN "+c.column+" ")
			if _, err := admin.ExecContext(ctx, "ALTER TABLE "+manifest+" MODIFY COLUMN "+c.column+" "+def); err != nil {
				t.Fatal(err)
			}
			a, err := Open(ctx, testdb.MySQL(), Options{Group: group})
			if err != nil {
				t.Fatalf("Open after the fix: %v", err)
			}
			a.Close()
		})
	}
}

// TestPostgresCatalogOperator (red team round 6): an '=' for character varying created in
// pg_catalog itself (by a superuser, or an extension installed there) matches token = $n more
// closely than the system's '=' for text, with the path pinned to pg_catalog: a late renewal
// succeeded after a takeover. Open refuses a store whose pg_catalog holds an operator or function
// of a name the statements use that is not the system's own. The test runs in a database of its
// own: the operator would change every session of the shared one.
func TestPostgresCatalogOperator(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	db := "sfcat" + durableSuffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatal(err)
	}
	defer admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
	u, err := url.Parse(testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + db
	own, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	for _, q := range []string{
		"CREATE FUNCTION public.always(character varying, character varying) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true'",
		"CREATE OPERATOR pg_catalog.= (LEFTARG = character varying, RIGHTARG = character varying, FUNCTION = public.always)",
	} {
		if _, err := own.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wantRefused(t, u.String(), Options{Group: "cat"}, []string{"the schema pg_catalog on it defines the operator =", "duplicate IDs"})
	if _, err := own.ExecContext(ctx, "DROP OPERATOR pg_catalog.= (character varying, character varying)"); err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, u.String(), Options{Group: "cat"})
	if err != nil {
		t.Fatalf("Open once the operator is dropped: %v", err)
	}
	a.Close()
}
