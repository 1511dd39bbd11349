package sqlassign

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// durableSuffix returns a random suffix for the test's own tables, groups and databases.
func durableSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// wantRefused opens url and wants an error holding every one of words and none of hidden.
func wantRefused(t *testing.T, rawURL string, opts Options, words []string, hidden ...string) {
	t.Helper()
	a, err := Open(t.Context(), rawURL, opts)
	if err == nil {
		a.Close()
		t.Fatalf("Open accepted the store; want an error naming %q", words)
	}
	msg := err.Error()
	t.Log(msg)
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("Open: error %q; want it to name %q", msg, w)
		}
	}
	for _, h := range hidden {
		if strings.Contains(msg, h) {
			t.Errorf("Open: error %q renders %q", msg, h)
		}
	}
}

// ownMySQLDatabase creates a MariaDB database of the test's own, named prefix and a random
// suffix, and returns a root connection to the server (with the driver parameters params), the
// database's name and a lease URL naming it; both are dropped when the test ends.
func ownMySQLDatabase(t *testing.T, prefix, params string) (admin *sql.DB, dbName, lease string) {
	t.Helper()
	admin, err := sql.Open("mysql", "root@tcp(127.0.0.1:3306)/test"+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	dbName = prefix + durableSuffix()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+dbName); err != nil {
		t.Fatalf("MariaDB: %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP DATABASE "+dbName) })
	u, err := url.Parse(testdb.MySQL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + dbName
	return admin, dbName, u.String()
}

// TestMySQLEngineDurable (red team F3): a MariaDB table of the store that does not use InnoDB (a
// MEMORY table, made by an ALTER TABLE or found already so) loses every mark on a restart of the
// database, and the next claim starts with no floor: duplicates. Open reads the effective engine of
// each of the store's tables from information_schema and refuses any but InnoDB, naming the table,
// the engine, the allowed one and the fix. The test uses a database of its own, so that it can
// alter snowfall_checks, which every group shares.
func TestMySQLEngineDurable(t *testing.T) {
	ctx := t.Context()
	admin, dbName, lease := ownMySQLDatabase(t, "snowfall_durable_", "")
	opts := Options{Group: "eng"}
	a, err := Open(ctx, lease, opts)
	if err != nil {
		t.Fatalf("Open on InnoDB tables: %v", err)
	}
	a.Close()
	for _, c := range []struct {
		table, engine string
		unshared      bool
	}{
		{"snowfall_eng_manifest", "MEMORY", false},
		{"snowfall_eng_properties", "MEMORY", false},
		{"snowfall_eng_manifest", "MyISAM", false},
		{"snowfall_eng_properties", "Aria", true},
		{"snowfall_checks", "MEMORY", false},
		{"snowfall_checks", "MEMORY", true},
	} {
		t.Run(c.table+"/"+c.engine, func(t *testing.T) {
			if _, err := admin.ExecContext(ctx, "ALTER TABLE "+dbName+"."+c.table+" ENGINE="+c.engine); err != nil {
				t.Fatal(err)
			}
			table := "`" + dbName + "`.`" + c.table + "`"
			wantRefused(t, lease, Options{Group: "eng", Unshared: c.unshared},
				[]string{table, "storage engine " + c.engine, "want InnoDB", "ALTER TABLE " + table + " ENGINE=InnoDB", "duplicate IDs"})
			if _, err := admin.ExecContext(ctx, "ALTER TABLE "+dbName+"."+c.table+" ENGINE=InnoDB"); err != nil {
				t.Fatal(err)
			}
			a, err := Open(ctx, lease, opts)
			if err != nil {
				t.Fatalf("Open after ALTER TABLE … ENGINE=InnoDB: %v", err)
			}
			a.Close()
		})
	}
}

// TestPostgresCommitDurable (red team F3): a PostgreSQL session with synchronous_commit off (here
// from the URL's options) acknowledges commits that a crash of the server loses: a lower mark could
// come back. Open reads the effective setting and refuses off, naming it and the allowed values,
// never the URL's password; the durable values are accepted.
func TestPostgresCommitDurable(t *testing.T) {
	ctx := t.Context()
	u, err := url.Parse(testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "hush3cret")
	group := "sc" + durableSuffix()
	for _, c := range []struct{ value, want string }{
		{"off", "synchronous_commit=off"},
		{"OFF", "synchronous_commit=off"},
		{"0", "synchronous_commit=off"},
		{"false", "synchronous_commit=off"},
		{"local", ""},
		{"remote_write", ""},
		{"on", ""},
	} {
		t.Run(c.value, func(t *testing.T) {
			v := *u
			v.RawQuery += "&options=-c%20synchronous_commit%3D" + c.value // pgx reads '+' as itself
			if c.want != "" {
				wantRefused(t, v.String(), Options{Group: group},
					[]string{c.want, "want on, remote_apply, remote_write or local", "durable"}, "hush3cret")
				return
			}
			a, err := Open(ctx, v.String(), Options{Group: group})
			if err != nil {
				t.Fatalf("Open with synchronous_commit=%s: %v", c.value, err)
			}
			defer a.Close()
			defer a.Drop(context.Background())
		})
	}
}

// TestPostgresUnloggedDurable (red team F3): an UNLOGGED table is emptied by a crash of the server,
// and the next claim would start with no mark. Open refuses a store whose tables are UNLOGGED,
// naming them and the fix.
func TestPostgresUnloggedDurable(t *testing.T) {
	ctx := t.Context()
	group := "ul" + durableSuffix()
	a, err := Open(ctx, testdb.Postgres(), Options{Group: group})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { a.Drop(context.Background()); a.Close() }()
	for _, table := range []string{a.manifest, a.props} {
		t.Run(table, func(t *testing.T) {
			if _, err := a.db.ExecContext(ctx, "ALTER TABLE "+table+" SET UNLOGGED"); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, testdb.Postgres(), Options{Group: group},
				[]string{table + " is UNLOGGED", "want a logged table", "ALTER TABLE " + table + " SET LOGGED", "duplicate IDs"})
			if _, err := a.db.ExecContext(ctx, "ALTER TABLE "+table+" SET LOGGED"); err != nil {
				t.Fatal(err)
			}
			b, err := Open(ctx, testdb.Postgres(), Options{Group: group})
			if err != nil {
				t.Fatalf("Open after SET LOGGED: %v", err)
			}
			b.Close()
		})
	}
}

// TestNewCommitDurable: New checks the pool as Open checks its URL: a pool whose sessions commit
// with synchronous_commit off is refused.
func TestNewCommitDurable(t *testing.T) {
	ctx := t.Context()
	pool, err := sql.Open("pgx", testdb.Postgres()+"&options=-c%20synchronous_commit%3Doff")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	group := "nc" + durableSuffix()
	defer func() {
		// The check follows the tables' creation: drop them through a durable pool.
		b, err := Open(context.Background(), testdb.Postgres(), Options{Group: group})
		if err == nil {
			b.Drop(context.Background())
			b.Close()
		}
	}()
	a, err := New(ctx, pool, "postgres", Options{Group: group})
	if err == nil {
		a.Drop(context.Background())
		t.Fatal("New accepted a pool with synchronous_commit off")
	}
	if msg := err.Error(); !strings.Contains(msg, "synchronous_commit=off") || !strings.Contains(msg, "want on") {
		t.Errorf("New: error %q; want it to name synchronous_commit=off and the allowed values", msg)
	}
}

// pgManifestColumns are the manifest's columns, for tests that create it in advance.
const pgManifestColumns = `(generator BIGINT NOT NULL PRIMARY KEY, token VARCHAR(64) NOT NULL DEFAULT '',
	expires_ms BIGINT NOT NULL DEFAULT 0, mark_ms BIGINT NOT NULL DEFAULT 0,
	claimed_ms BIGINT NOT NULL DEFAULT 0, renewed_ms BIGINT NOT NULL DEFAULT 0,
	host VARCHAR(255) NOT NULL DEFAULT '', pid BIGINT NOT NULL DEFAULT 0, version BIGINT NOT NULL DEFAULT 0)`

// TestPostgresRelationKindDurable (red team F-D): the UNLOGGED check read the persistence of the
// named relations only. A manifest created in advance as a partitioned table (persistence 'p')
// whose partition is UNLOGGED, or as a view over an UNLOGGED table, or a plain table with an
// UNLOGGED inheriting table, was accepted, and a crash of the server empties the relation that
// holds the rows: the next claim starts with no mark, and repeats IDs. Open wants each of the
// store's tables to be an ordinary (relkind 'r'), logged table that no other table inherits from,
// as Snowfall creates them, and refuses anything else by the relation's kind, whatever the
// persistence of the relations behind it: a view over a logged table is refused too. Plain logged
// tables, created by Snowfall or in advance, are accepted.
func TestPostgresRelationKindDurable(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, c := range []struct {
		name string
		// setup creates relations in advance: %[1]s is the manifest, %[2]s the properties,
		// %[3]s a table of the test's own.
		setup string
		// words the error must hold (the same replacements); none: Open must accept.
		words []string
	}{
		{"partitioned-unlogged-partition", `CREATE TABLE %[1]s ` + pgManifestColumns + ` PARTITION BY RANGE (generator);
			CREATE UNLOGGED TABLE %[3]s PARTITION OF %[1]s FOR VALUES FROM (0) TO (1000000)`,
			[]string{"%[1]s is a partitioned table", "want an ordinary table", "duplicate IDs"}},
		{"partitioned-logged-partition", `CREATE TABLE %[1]s ` + pgManifestColumns + ` PARTITION BY RANGE (generator);
			CREATE TABLE %[3]s PARTITION OF %[1]s FOR VALUES FROM (0) TO (1000000)`,
			[]string{"%[1]s is a partitioned table", "want an ordinary table"}},
		{"view-over-unlogged", `CREATE UNLOGGED TABLE %[3]s ` + pgManifestColumns + `;
			CREATE VIEW %[1]s AS SELECT * FROM %[3]s`,
			[]string{"%[1]s is a view", "want an ordinary table"}},
		{"view-over-logged", `CREATE TABLE %[3]s ` + pgManifestColumns + `;
			CREATE VIEW %[1]s AS SELECT * FROM %[3]s`,
			[]string{"%[1]s is a view", "want an ordinary table"}},
		{"properties-view", `CREATE TABLE %[3]s (name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(1024) NOT NULL);
			CREATE VIEW %[2]s AS SELECT * FROM %[3]s`,
			[]string{"%[2]s is a view", "want an ordinary table"}},
		{"inherited-by-unlogged", `CREATE TABLE %[1]s ` + pgManifestColumns + `;
			CREATE UNLOGGED TABLE %[3]s () INHERITS (%[1]s)`,
			[]string{"%[1]s is inherited by %[3]s", "an UNLOGGED table", "want an ordinary table"}},
		{"plain-in-advance", `CREATE TABLE %[1]s ` + pgManifestColumns + `;
			CREATE TABLE %[2]s (name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(1024) NOT NULL)`, nil},
		{"created-by-snowfall", ``, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := "rk" + durableSuffix()
			props, manifest, err := tableNames(group)
			if err != nil {
				t.Fatal(err)
			}
			names := []any{"public." + manifest, "public." + props, "public." + group + "_own"}
			defer func() {
				for _, n := range names { // a view first, then what it read; DROP VIEW fails on a table
					admin.ExecContext(context.Background(), fmt.Sprintf("DROP VIEW IF EXISTS %s CASCADE", n))
				}
				for _, n := range names {
					admin.ExecContext(context.Background(), fmt.Sprintf("DROP TABLE IF EXISTS %s CASCADE", n))
				}
			}()
			if c.setup != "" {
				if _, err := admin.ExecContext(ctx, fmt.Sprintf(c.setup, names...)); err != nil {
					t.Fatal(err)
				}
			}
			if c.words == nil {
				for i := 0; i < 2; i++ { // once creating the tables, once finding them
					a, err := Open(ctx, testdb.Postgres(), Options{Group: group})
					if err != nil {
						t.Fatalf("Open on plain logged tables: %v", err)
					}
					a.Close()
				}
				return
			}
			r := strings.NewReplacer("%[1]s", names[0].(string), "%[2]s", names[1].(string), "%[3]s", names[2].(string))
			words := make([]string, len(c.words))
			for i, w := range c.words {
				words[i] = r.Replace(w)
			}
			wantRefused(t, testdb.Postgres(), Options{Group: group}, words)
		})
	}
}

// TestMySQLRelationKindDurable (red team F-D, MariaDB's side): a manifest created in advance as a
// view has no storage engine (information_schema reads NULL), and is refused by the engine check,
// whatever the table behind it; a partitioned table's partitions all share its engine (MariaDB
// refuses a mix), so a partitioned MEMORY manifest is refused by its engine, and a partitioned
// InnoDB one is accepted. The test uses a database of its own.
func TestMySQLRelationKindDurable(t *testing.T) {
	ctx := t.Context()
	admin, dbName, lease := ownMySQLDatabase(t, "snowfall_kind_", "?multiStatements=true")
	columns := strings.ReplaceAll(pgManifestColumns, "\n", " ")
	for _, c := range []struct{ group, setup, want string }{
		{"view", "CREATE TABLE %[1]s.own " + columns + " ENGINE=InnoDB; CREATE VIEW %[1]s.snowfall_view_manifest AS SELECT * FROM %[1]s.own",
			"is a view with no storage engine of its own"},
		{"partmem", "CREATE TABLE %[1]s.snowfall_partmem_manifest " + columns +
			" ENGINE=MEMORY PARTITION BY RANGE (generator) (PARTITION p0 VALUES LESS THAN (1000000))", "storage engine MEMORY"},
		{"partinno", "CREATE TABLE %[1]s.snowfall_partinno_manifest " + columns +
			" ENGINE=InnoDB PARTITION BY RANGE (generator) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN (1000000))", ""},
	} {
		t.Run(c.group, func(t *testing.T) {
			if _, err := admin.ExecContext(ctx, fmt.Sprintf(c.setup, dbName)); err != nil {
				t.Fatal(err)
			}
			if c.want == "" {
				a, err := Open(ctx, lease, Options{Group: c.group})
				if err != nil {
					t.Fatalf("Open on a partitioned InnoDB manifest: %v", err)
				}
				a.Close()
				return
			}
			table := "`" + dbName + "`.`snowfall_" + c.group + "_manifest`"
			wantRefused(t, lease, Options{Group: c.group}, []string{table, c.want, "InnoDB", "duplicate IDs"})
		})
	}
}

// TestTriggersRefused: a trigger (or, on PostgreSQL, a rule) on a table of the store can send a
// claim's or a renewal's row elsewhere or lower the mark it records; Snowfall creates none, and
// Open refuses a store that has one, on every database, naming the table, the trigger and the fix.
// Once it is dropped, the store opens.
func TestTriggersRefused(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name, url string
		make      func(a *Assigner) []string // the statements that add it
		words     func(a *Assigner) []string
		drop      func(a *Assigner) string
	}{
		{"sqlite", "sqlite://" + t.TempDir() + "/leases.db",
			func(a *Assigner) []string {
				return []string{"CREATE TRIGGER tg AFTER UPDATE ON " + a.manifest + " BEGIN SELECT 1; END"}
			},
			func(a *Assigner) []string { return []string{"has a trigger", `"tg"`, "DROP TRIGGER"} },
			func(a *Assigner) string { return "DROP TRIGGER tg" }},
		{"postgres trigger", testdb.Postgres(),
			func(a *Assigner) []string {
				return []string{"CREATE FUNCTION " + a.manifest + "_f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
					"CREATE TRIGGER tg BEFORE UPDATE ON " + a.manifest + " FOR EACH ROW EXECUTE FUNCTION " + a.manifest + "_f()"}
			},
			func(a *Assigner) []string {
				return []string{"the table " + a.manifest + " has a trigger", `"tg"`, "DROP TRIGGER tg ON " + a.manifest}
			},
			func(a *Assigner) string {
				return "DROP TRIGGER tg ON " + a.manifest + "; DROP FUNCTION " + a.manifest + "_f()"
			}},
		{"postgres rule", testdb.Postgres(),
			func(a *Assigner) []string {
				return []string{"CREATE RULE rl AS ON UPDATE TO " + a.manifest + " DO INSTEAD NOTHING"}
			},
			func(a *Assigner) []string {
				return []string{"the table " + a.manifest + " has a rule", `"rl"`, "DROP RULE rl ON " + a.manifest}
			},
			func(a *Assigner) string { return "DROP RULE rl ON " + a.manifest }},
		{"postgres row-level security", testdb.Postgres(),
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " ENABLE ROW LEVEL SECURITY"}
			},
			func(a *Assigner) []string {
				return []string{"the table " + a.manifest + " has row-level security enabled", "DISABLE ROW LEVEL SECURITY"}
			},
			func(a *Assigner) string { return "ALTER TABLE " + a.manifest + " DISABLE ROW LEVEL SECURITY" }},
		{"mysql", testdb.MySQL(),
			func(a *Assigner) []string {
				return []string{"CREATE TRIGGER " + a.prefix + "tg" + durableSuffix() + " BEFORE UPDATE ON " + a.manifest + " FOR EACH ROW SET @snowfall_x = 1"}
			},
			func(a *Assigner) []string { return []string{a.bare + "` has a trigger", "DROP TRIGGER"} },
			nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := "tg" + durableSuffix()
			a, err := Open(ctx, c.url, Options{Group: group})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { a.Drop(context.Background()); a.Close() }()
			stmts := c.make(a)
			for _, q := range stmts {
				if _, err := a.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			wantRefused(t, c.url, Options{Group: group}, append(c.words(a), "below IDs already issued"))
			drop := ""
			if c.drop != nil {
				drop = c.drop(a)
			} else { // MySQL: the trigger's name is in the create statement
				name := strings.Fields(stmts[0])[2]
				drop = "DROP TRIGGER " + name
			}
			for _, q := range strings.Split(drop, "; ") {
				if _, err := a.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			b, err := Open(ctx, c.url, Options{Group: group})
			if err != nil {
				t.Fatalf("Open once the trigger is dropped: %v", err)
			}
			b.Close()
		})
	}
}

// TestKeysRequired (red team round 6: a manifest without its primary key, made by CREATE TABLE …
// (LIKE …) or a restore that lost the constraint, let two first users insert every id twice, and
// two servers hold generator 0 at once): Open refuses a manifest with no unique key on generator
// alone, or properties with none on name, on every database, naming the table and the fix; with
// the key back, the store opens.
func TestKeysRequired(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name, url   string
		drop, add   func(a *Assigner) []string
		wantInError func(a *Assigner) string
	}{
		{"postgres", testdb.Postgres(),
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " DROP CONSTRAINT " + a.bare + "_pkey"}
			},
			func(a *Assigner) []string {
				return []string{"CREATE UNIQUE INDEX " + a.bare + "_g ON " + a.manifest + " (generator)"}
			},
			func(a *Assigner) string {
				return "the table " + a.manifest + " has no primary key or unique index on generator alone"
			}},
		{"postgres partial index", testdb.Postgres(),
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " DROP CONSTRAINT " + a.bare + "_pkey",
					"CREATE UNIQUE INDEX " + a.bare + "_p ON " + a.manifest + " (generator) WHERE generator < 0"}
			},
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " ADD PRIMARY KEY (generator)"}
			},
			func(a *Assigner) string { return "no primary key or unique index on generator alone" }},
		{"mysql", testdb.MySQL(),
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " DROP PRIMARY KEY", "CREATE INDEX g2 ON " + a.manifest + " (generator, token)"}
			},
			func(a *Assigner) []string {
				return []string{"ALTER TABLE " + a.manifest + " ADD PRIMARY KEY (generator)"}
			},
			func(a *Assigner) string { return a.bare + "` has no primary key or unique index on generator alone" }},
	} {
		t.Run(c.name, func(t *testing.T) {
			group := "pk" + durableSuffix()
			a, err := Open(ctx, c.url, Options{Group: group})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { a.Drop(context.Background()); a.Close() }()
			for _, q := range c.drop(a) {
				if _, err := a.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			wantRefused(t, c.url, Options{Group: group}, []string{c.wantInError(a), "ADD PRIMARY KEY (generator)", "duplicate IDs"})
			for _, q := range c.add(a) {
				if _, err := a.db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			b, err := Open(ctx, c.url, Options{Group: group})
			if err != nil {
				t.Fatalf("Open with the key back: %v", err)
			}
			b.Close()
		})
	}
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		u := "sqlite://" + dir + "/leases.db"
		a, err := Open(ctx, u, Options{Group: "pk"})
		if err != nil {
			t.Fatal(err)
		}
		bare := a.bare
		if _, err := a.db.ExecContext(ctx, "ALTER TABLE "+bare+" RENAME TO old"); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"CREATE TABLE " + bare + " AS SELECT * FROM old", // a copy: no key
			"DROP TABLE old",
		} {
			if _, err := a.db.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		a.Close()
		wantRefused(t, u, Options{Group: "pk"}, []string{"the table " + bare + " has no primary key or unique index on generator alone"})
	})
}
