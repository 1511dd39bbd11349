package sqlassign_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// oldManifest is the manifest table as versions before conditioned claims made it: no version
// column.
const oldManifest = `CREATE TABLE %s (
	generator BIGINT NOT NULL PRIMARY KEY,
	token VARCHAR(64) NOT NULL DEFAULT '',
	expires_ms BIGINT NOT NULL DEFAULT 0,
	mark_ms BIGINT NOT NULL DEFAULT 0,
	claimed_ms BIGINT NOT NULL DEFAULT 0,
	renewed_ms BIGINT NOT NULL DEFAULT 0,
	host VARCHAR(255) NOT NULL DEFAULT '',
	pid BIGINT NOT NULL DEFAULT 0
)`

// TestMigrateVersion: a manifest table made by an earlier version (without the version column),
// with a lease held by an old server and marks recorded, gets the column when new servers open it
// (several at once), keeps its rows, and claims on it are conditioned: the held id is not free, the
// floors are the recorded marks, and a replayed claim fails.
func TestMigrateVersion(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			u, g := b.url(t), group()
			ctx := t.Context()
			db := rawDB(t, b.name, u)
			manifest := "snowfall_" + g + "_manifest"
			if _, err := db.ExecContext(ctx, strings.Replace(oldManifest, "%s", manifest, 1)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+manifest) })
			now := time.Now().Truncate(time.Millisecond)
			held, released := now.Add(time.Hour).UnixMilli(), now.Add(-time.Minute).UnixMilli()
			// Rows as an old server leaves them: 0 held for an hour, 1 released with a mark, 2 and 3 new.
			for _, row := range [][]any{{0, "oldtoken", held, held}, {1, "", 0, released}, {2, "", 0, 0}, {3, "", 0, 0}} {
				if _, err := db.ExecContext(ctx, q(b.name, "INSERT INTO "+manifest+" (generator, token, expires_ms, mark_ms) VALUES (?, ?, ?, ?)"), row...); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			as := make([]*sqlassign.Assigner, 4)
			errs := make([]error, len(as))
			for i := range as {
				wg.Go(func() { as[i], errs[i] = sqlassign.Open(ctx, u, sqlassign.Options{Group: g, MaxConns: 2}) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("Open %d of an old-shape manifest: %v", i, err)
				}
				defer as[i].Close()
			}
			a := as[0]
			t.Cleanup(func() { a.Drop(context.Background()) })
			var v int64
			if err := db.QueryRowContext(ctx, "SELECT version FROM "+manifest+" WHERE generator = 1").Scan(&v); err != nil || v != 0 {
				t.Fatalf("version of an old row after the migration: %d, %v; want 0", v, err)
			}
			free, err := a.Free(ctx, snowfall.FreeRequest{Size: 4, Now: now, Limit: 4})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, f := range free {
				ids = append(ids, f.ID)
			}
			if len(free) != 3 || free[0].ID != 1 || free[0].Mark.UnixMilli() != released {
				t.Fatalf("free ids after the migration: %+v (ids %v); want 1 (mark %d), 2, 3", free, ids, released)
			}
			req := snowfall.ClaimRequest{Free: free[0], Token: "new", Lease: time.Minute, Now: now, Ahead: time.Second}
			c, err := a.Claim(ctx, req)
			if err != nil || c.ID != 1 || c.Prev.UnixMilli() != released {
				t.Fatalf("claim of the released id: %+v, %v", c, err)
			}
			if err := a.Release(ctx, 1, "new", c.Mark); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Claim(ctx, req); err == nil {
				t.Errorf("a replayed claim succeeded on a migrated manifest")
			}
			if _, err := leasetest.ClaimID(ctx, a, 4, 0, snowfall.ClaimRequest{Token: "x", Lease: time.Minute, Now: now}); err == nil {
				t.Errorf("claimed generator 0, held by an old server")
			}
		})
	}
}

// q rewrites ? placeholders for PostgreSQL.
func q(dialect, s string) string {
	if dialect != "postgres" {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if r == '?' {
			n++
			b.WriteString("$" + string(rune('0'+n)))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// rawDB opens the database of the test URL u with its driver directly, as another program (an
// earlier version of this one) would.
func rawDB(t *testing.T, dialect, u string) *sql.DB {
	t.Helper()
	var driver, dsn string
	switch dialect {
	case "sqlite":
		driver, dsn = "sqlite", "file:"+strings.TrimPrefix(u, "sqlite://")+"?_txlock=immediate&_pragma=busy_timeout(10000)"
	case "postgres":
		driver, dsn = "pgx", u
	case "mysql":
		p, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		driver, dsn = "mysql", p.User.String()+"@tcp("+p.Host+")"+p.Path+"?clientFoundRows=true"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checksDDL makes the table of the shared-store check (Open's nonce), which the lease user only
// reads and writes (docs/operations.md grants it).
const checksDDL = "CREATE TABLE IF NOT EXISTS snowfall_checks (nonce VARCHAR(64) NOT NULL PRIMARY KEY, created_ms BIGINT NOT NULL)"

// TestMigrateLeastPrivilege: where servers run as a user that may only read and write the tables
// (docs/operations.md, "Least privileges"), a new server on an old-shape manifest refuses to open
// with an error that says to run schema create as the owner; once the owner has opened it (what
// snowfall schema create does), the lease user opens it and claims.
func TestMigrateLeastPrivilege(t *testing.T) {
	for _, b := range backends()[1:] { // PostgreSQL and MariaDB: SQLite has no users
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			u, g := b.url(t), group()
			super := rawDB(t, b.name, u)
			manifest, props := "snowfall_"+g+"_manifest", "snowfall_"+g+"_properties"
			user := "sflease_" + g
			for _, s := range []string{strings.Replace(oldManifest, "%s", manifest, 1),
				"CREATE TABLE " + props + " (name VARCHAR(64) NOT NULL PRIMARY KEY, value VARCHAR(1024) NOT NULL)"} {
				if _, err := super.ExecContext(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			var grants []string
			lease, _ := url.Parse(u)
			if b.name == "postgres" {
				grants = []string{"CREATE ROLE " + user + " LOGIN PASSWORD 'Wm4-Zr8T-b2Kq'",
					"GRANT SELECT, INSERT, UPDATE ON " + props + ", " + manifest + " TO " + user,
					checksDDL, "GRANT SELECT, INSERT, DELETE ON snowfall_checks TO " + user}
				t.Cleanup(func() {
					super.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+manifest+", "+props)
					super.ExecContext(context.Background(), "REVOKE ALL ON snowfall_checks FROM "+user)
					super.ExecContext(context.Background(), "DROP ROLE IF EXISTS "+user)
				})
			} else {
				grants = []string{"CREATE USER '" + user + "'@'%' IDENTIFIED BY 'Wm4-Zr8T-b2Kq'",
					"GRANT SELECT, INSERT, UPDATE ON " + strings.TrimPrefix(lease.Path, "/") + "." + props + " TO '" + user + "'@'%'",
					"GRANT SELECT, INSERT, UPDATE ON " + strings.TrimPrefix(lease.Path, "/") + "." + manifest + " TO '" + user + "'@'%'",
					checksDDL, "GRANT SELECT, INSERT, DELETE ON " + strings.TrimPrefix(lease.Path, "/") + ".snowfall_checks TO '" + user + "'@'%'"}
				t.Cleanup(func() {
					super.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+manifest+", "+props)
					super.ExecContext(context.Background(), "DROP USER IF EXISTS '"+user+"'@'%'")
				})
			}
			for _, s := range grants {
				if _, err := super.ExecContext(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			lease.User = url.UserPassword(user, "Wm4-Zr8T-b2Kq")
			_, err := sqlassign.Open(ctx, lease.String(), sqlassign.Options{Group: g})
			if err == nil || !strings.Contains(err.Error(), "schema create") || !strings.Contains(err.Error(), "version column") {
				t.Fatalf("the lease user on an old-shape manifest: got %v, want an error saying to run schema create as the owner", err)
			}
			t.Logf("the lease user on an old-shape manifest: %v", err)
			owner, err := sqlassign.Open(ctx, u, sqlassign.Options{Group: g})
			if err != nil {
				t.Fatalf("the owner on an old-shape manifest: %v", err)
			}
			owner.Close()
			a, err := sqlassign.Open(ctx, lease.String(), sqlassign.Options{Group: g})
			if err != nil {
				t.Fatalf("the lease user after the owner added the column: %v", err)
			}
			defer a.Close()
			l, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Probe: time.Second})
			if err != nil {
				t.Fatalf("NewLeased as the lease user: %v", err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
