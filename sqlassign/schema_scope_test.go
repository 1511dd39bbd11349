package sqlassign_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// pgRoles creates n login roles of the test's own (trust authentication on the test server), each
// with a schema named after itself and CREATE on public, and drops them at cleanup. It returns the
// roles and the test's database URL rewritten to connect as each.
func pgRoles(t *testing.T, admin *sql.DB, n int) (roles, urls []string) {
	t.Helper()
	ctx := t.Context()
	for i := range n {
		r := group() + "r" + string(rune('a'+i))
		for _, s := range []string{
			"CREATE ROLE " + r + " LOGIN",
			"CREATE SCHEMA " + r + " AUTHORIZATION " + r,
			"GRANT CREATE, USAGE ON SCHEMA public TO " + r,
			"CREATE TABLE IF NOT EXISTS public.snowfall_checks (nonce VARCHAR(64) NOT NULL PRIMARY KEY, created_ms BIGINT NOT NULL)",
			"GRANT SELECT, INSERT, DELETE ON public.snowfall_checks TO " + r,
			// The other roles may use the tables this one creates in public.
			"ALTER DEFAULT PRIVILEGES FOR ROLE " + r + " IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO PUBLIC",
		} {
			if _, err := admin.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		t.Cleanup(func() {
			ctx := context.Background()
			admin.ExecContext(ctx, "DROP SCHEMA "+r+" CASCADE")
			admin.ExecContext(ctx, "DROP OWNED BY "+r+" CASCADE")
			admin.ExecContext(ctx, "DROP ROLE "+r)
		})
		roles = append(roles, r)
		urls = append(urls, strings.Replace(postgresURL(), "://postgres@", "://"+r+"@", 1))
	}
	return roles, urls
}

// TestPostgresOneStoreWhoeverConnects: servers that name the same PostgreSQL database lease from
// the same tables whoever they connect as. Each role here has a schema named after itself, which
// the default search_path ("$user", public) puts first: a store that resolved its tables through
// the search_path made one manifest per role, and both servers held generator 0.
func TestPostgresOneStoreWhoeverConnects(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	roles, urls := pgRoles(t, admin, 2)
	g := group()
	var as []*sqlassign.Assigner
	for i, u := range urls {
		a, err := sqlassign.Open(ctx, u, sqlassign.Options{Group: g})
		if err != nil {
			t.Fatalf("Open as %s: %v", roles[i], err)
		}
		t.Cleanup(func() { a.Close() })
		as = append(as, a)
	}
	t.Cleanup(func() {
		for _, s := range []string{"manifest", "properties"} {
			admin.ExecContext(context.Background(), "DROP TABLE IF EXISTS public.snowfall_"+g+"_"+s)
		}
	})
	// Each claims the first free id it finds.
	var got []int64
	for i, a := range as {
		free, err := a.Free(ctx, snowfall.FreeRequest{Size: 16, Limit: 1, Now: time.Now()})
		if err != nil || len(free) == 0 {
			t.Fatalf("Free as %s: %v, %v", roles[i], free, err)
		}
		c, err := a.Claim(ctx, snowfall.ClaimRequest{Free: free[0], Token: roles[i], Lease: time.Minute, Holder: snowfall.Holder{Host: roles[i], PID: 1}, Now: time.Now()})
		if err != nil {
			t.Fatalf("Claim as %s: %v", roles[i], err)
		}
		got = append(got, c.ID)
	}
	if got[0] == got[1] {
		t.Errorf("the servers connecting as %s and %s both hold generator %d: two manifests in one database", roles[0], roles[1], got[0])
	}
	var n int
	if err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_class WHERE relname = $1", "snowfall_"+g+"_manifest").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d tables named snowfall_%s_manifest in the database, want 1", n, g)
	}
}

// TestPostgresRefusesStrayManifest: a manifest of the group in another schema than the one the
// store uses (made by a version that resolved its tables through the search_path, or by hand) is
// one that other servers may lease from: Open refuses, naming the schema, rather than split the
// store.
func TestPostgresRefusesStrayManifest(t *testing.T) {
	ctx := t.Context()
	admin, err := sql.Open("pgx", postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	roles, urls := pgRoles(t, admin, 1)
	g := group()
	if _, err := admin.ExecContext(ctx, "CREATE TABLE "+roles[0]+".snowfall_"+g+"_manifest (generator BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	a, err := sqlassign.Open(ctx, urls[0], sqlassign.Options{Group: g})
	if err == nil {
		a.Drop(context.Background())
		a.Close()
		t.Fatalf("Open as %s with %s.snowfall_%s_manifest present: no error", roles[0], roles[0], g)
	}
	if !strings.Contains(err.Error(), roles[0]+".snowfall_"+g+"_manifest") {
		t.Errorf("Open: %v; want it to name %s.snowfall_%s_manifest", err, roles[0], g)
	}
}

// TestMySQLNamesItsDatabase: on MySQL the tables are those of the database the URL or the pool
// names, qualified in every statement; a pool that names none is refused (Open's URLs must name
// one), rather than lease from whatever database a session's default turns out to be.
func TestMySQLNamesItsDatabase(t *testing.T) {
	ctx := t.Context()
	u, err := url.Parse(mysqlURL())
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := u.User.Password()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.ClientFoundRows = u.User.Username(), pw, "tcp", u.Host, true
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, err := sqlassign.New(ctx, db, "mysql", sqlassign.Options{Group: group()}); err == nil {
		a.Close()
		t.Fatal("New on a MySQL pool that names no database: no error")
	} else if !strings.Contains(err.Error(), "names no database") {
		t.Errorf("New: %v; want it to say the pool names no database", err)
	}
	if _, err := sqlassign.Open(ctx, strings.TrimSuffix(mysqlURL(), u.Path), sqlassign.Options{Group: group()}); err == nil ||
		!strings.Contains(err.Error(), "no database name") {
		t.Errorf("Open of a MySQL URL without a database: %v; want an error saying it has no database name", err)
	}
	a := open(t, mysqlURL(), group())
	if _, m := a.Tables(); !strings.HasPrefix(m, "`"+strings.TrimPrefix(u.Path, "/")+"`.") {
		t.Errorf("Tables() manifest %q: want it qualified by the URL's database", m)
	}
}
