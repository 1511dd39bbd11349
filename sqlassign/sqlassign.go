// Package sqlassign is a snowfall.Assigner kept in a SQL database, shared by every instance that
// opens the same URL and group: SQLite (modernc.org/sqlite, no cgo), PostgreSQL (pgx) and
// MySQL/MariaDB (go-sql-driver/mysql), through one code path with small per-dialect differences.
//
// It keeps two tables, snowfall_properties (name, value) and snowfall_manifest (one row per
// generator id), or snowfall_<group>_properties and snowfall_<group>_manifest for a group, always
// named with their schema: on PostgreSQL public's, whoever connects and whatever its search_path
// (Open refuses while the group's manifest also exists in another schema), on MySQL the URL's
// database, so that every server naming one database leases from the same tables. Lease
// times are BIGINT Unix milliseconds read from the database's clock in the statement that writes
// them, so hosts never compare their clocks. Free is a read of the free rows, each with its mark
// and its version (a BIGINT that every claim and release adds one to); a claim is one UPDATE
// conditioned on the version and the mark it read and on the lease having expired, checked by
// rows affected, so that a claim applied twice, or late, cannot succeed on a newer state of the
// row; renewals and releases are updates conditioned on the token; marks only rise. The safety
// argument, and what it needs from the database (durable commits, no failover to an asynchronous
// replica), is in the snowfall package documentation (go doc github.com/snowfall-go/snowfall,
// "Leases").
//
// # Upgrading
//
// Manifest tables made by versions before conditioned claims lack the version column; Open (and
// New) add it, every row at version 0 (PostgreSQL and SQLite serialize concurrent Opens; MySQL's
// concurrent ALTER TABLE fails in all but one Open, whose retry then finds the column). A user that
// may not alter the table (a least-privilege lease user) cannot add it: Open then fails and says
// to run this version's snowfall schema create as the tables' owner first. Servers of the earlier version can keep running on the table during a
// rolling upgrade: they name their columns, so the new one does not disturb them, and they never
// change it, which is safe for the new servers' claims:
//
//   - A new claim is also conditioned on the mark it read, and every old claim raises the mark
//     (to at least its clock plus the lease above the old one), so a new claim never takes a row
//     whose state changed under an old tenure, except back to exactly the state it read (an old
//     tenure that issued nothing and released the mark it found), where the floor it read is
//     still right.
//   - A new claim adds one to the version, which old tenures never lower, so a replay of it
//     fails whatever old tenures came between.
//   - Old and new claims of one row exclude each other through its expiry: each is an update
//     conditioned on the lease having expired.
//
// An old server's own claims are not conditioned: a replay of one of them can still revive its
// tenure (issue 18, defect 4), until the last old server is gone.
//
// The package imports no driver: Open and CheckURL accept the URLs of the driver packages a program
// imports, so that it links only those drivers.
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/sqlite"   // sqlite:, sqlite3:
//	import _ "github.com/snowfall-go/snowfall/sqlassign/postgres" // postgres:, postgresql:, keyword DSNs
//	import _ "github.com/snowfall-go/snowfall/sqlassign/mysql"    // mysql:, mariadb:
//
// New, on a pool the application opened with a driver of its own, needs none of them.
package sqlassign

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// Options configure an Assigner. The zero value means the default group and connection limits.
type Options struct {
	// Group names an independent manifest in the same database: tables snowfall_<group>_….
	// Lower-case letters, digits and underscores, up to 40.
	Group string
	// MaxConns bounds the open connections; zero means 4 for SQLite files and 20 for servers.
	// A SQLite database in no file (in memory, temporary) always has one.
	MaxConns int
	// Attempts bounds the tries of schema creation that fail on a race or a transient error;
	// zero means 8. (A claim is one conditional UPDATE; the Leased keeper retries conflicts.)
	Attempts int
	// Unshared lets Open return a store that other processes do not share (sqlite::memory:, a
	// temporary database), for tests and prototypes within one process. Without it Open checks
	// that the store is shared and returns an error matching ErrNotShared if not.
	Unshared bool
}

// Assigner is a manifest in a SQL database. It is safe for concurrent use.
type Assigner struct {
	db         *sql.DB
	d          dialect
	url        string // without password
	props      string // the table names, qualified by their schema (see qualify)
	manifest   string
	schemaName string // the schema (MySQL: database) of the tables, "" for SQLite's main database
	prefix     string // schema quoted, with a dot: what qualifies a table name, "" for SQLite
	bare       string // the manifest's name without its schema
	attempts   int

	store string // what the leases are shared through, for messages: see Store

	mu       sync.Mutex // guards prepared
	prepared int64
	wmu      sync.Mutex         // see writer
	file     *fileIdentity      // a SQLite database in a file: see checkFile
	fmu      sync.Mutex         // guards file.replaced
	borrowed bool               // db is the caller's (New)
	classify func(error) string // names the driver's errors (see fail); nil for New
}

// CheckURL returns the error Open would return for a malformed url or a bad group name, without
// connecting: commands use it to tell a usage error from an unreachable database.
func CheckURL(url, group string) error {
	if _, err := parseURL(url); err != nil {
		return err
	}
	_, _, err := tableNames(group)
	return err
}

// Open connects to the database at url (sqlite:///path/to/file.db, sqlite::memory: with Unshared,
// postgres://user:pass@host:port/db?sslmode=disable, mysql://user:pass@host:port/db) and creates
// the group's tables if they do not exist. The URL's driver package must be imported (see the
// package documentation).
//
// Unless opts.Unshared is set, Open first checks that the database is one other processes share,
// whatever the URL's spelling: it writes a nonce and reads it back through a new connection made as
// another process would make it; for SQLite the database must be a file with one name (not an
// in-memory, temporary or memory-VFS database, not a hard-linked file), opened again by the path
// SQLite resolved with the default VFS, and a write transaction through the store must keep that
// connection out. The nonce lives in the table snowfall_checks, created when missing.
//
// Errors: a malformed URL, an unknown scheme or one whose driver package is not imported, a bad
// group name, an unreachable database, a store that is not shared (matching ErrNotShared, saying
// why), schema creation failures, and a store whose commits would not survive a crash of the
// database: a SQLite journal or synchronous level that does not sync a commit (and a SQLite journal
// mode other than WAL, which the checks that the file stays the one at its path rest on; see
// fileIdentity), a SQLite file replaced while Open ran (matching ErrNotShared), a MySQL/MariaDB table
// of the store not on InnoDB, a PostgreSQL session with synchronous_commit off or an UNLOGGED table
// (see docs/backends.md). No error quotes url: a malformed one is hidden, and one that
// parsed is shown without its password (see Redacted); a driver's error, whose text may repeat the
// URL, is reachable through errors.Unwrap and errors.As but not part of the message, which names
// its class (a SQLSTATE, a MySQL error number, a SQLite result code, a network failure). The result
// is safe for concurrent use.
func Open(ctx context.Context, url string, opts Options) (*Assigner, error) {
	t, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	a := &Assigner{d: t.d, url: t.display, store: t.display, attempts: opts.Attempts}
	if err := a.qualify(opts.Group, t.schema); err != nil {
		return nil, err
	}
	db, err := sql.Open(t.driver, t.dsn)
	if err != nil {
		return nil, redact.Wrap("sqlassign: open", t.display, err, t.classify)
	}
	conns := opts.MaxConns
	if conns <= 0 {
		conns = 20
		if t.d.name == "sqlite" {
			conns = 4
		}
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	a.db = db
	a.classify = t.classify
	if a.attempts <= 0 {
		a.attempts = 8
	}
	if err := a.ping(ctx, t.busy); err != nil {
		db.Close()
		return nil, redact.Wrap("sqlassign: open", t.display, err, t.classify)
	}
	file := "" // SQLite's main database file, "" for none
	if a.d.name == "sqlite" {
		// A database in no file (in memory, or temporary: Unshared) lives in the connection that
		// opened it, the one ping used: keep that one, and only that one, open for good.
		file, err = a.mainFile(ctx)
		if err != nil {
			db.Close()
			return nil, redact.Wrap("sqlassign: open", t.display, err, t.classify)
		}
		if file == "" {
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			db.SetConnMaxLifetime(0)
			db.SetConnMaxIdleTime(0)
		} else if err := a.checkDurable(ctx, t.classify); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := a.checkSession(ctx, t.classify); err != nil {
		db.Close()
		return nil, err
	}
	if !opts.Unshared {
		if err := a.checkShared(ctx, t); err != nil {
			db.Close()
			return nil, err // ErrNotShared, or a failed step in our words (checkErr)
		}
		if file != "" {
			if err := a.checkWAL(ctx, t.classify); err != nil {
				db.Close()
				return nil, err
			}
		}
	}
	if err := a.checkStray(ctx, t.display, t.classify); err != nil {
		db.Close()
		return nil, err
	}
	if err := a.createSchema(ctx); err != nil {
		db.Close()
		return nil, schemaError(t.display, err, t.classify)
	}
	if err := a.checkServerDurable(ctx, t.classify); err != nil {
		db.Close()
		return nil, err
	}
	if a.d.name == "sqlite" && !opts.Unshared {
		if err := a.holdFile(ctx, t.driver, a.store, t.dsn, t.busy); err != nil {
			db.Close()
			if ns := (*notSharedError)(nil); errors.As(err, &ns) {
				return nil, err // the file was replaced while Open ran: saying so
			}
			if _, ok := err.(*redact.Error); ok {
				return nil, err // already in our words
			}
			return nil, redact.Wrap("sqlassign: open", t.display, err, t.classify)
		}
	}
	return a, nil
}

// openRetry bounds how long Open retries a lock conflict (see ping).
const openRetry = 10 * time.Second

// ping pings the database. When several processes open a new SQLite file at once, the first
// connection's switch to WAL mode can fail at once with SQLITE_BUSY (SQLite does not wait where
// waiting could deadlock); busy recognises that error, and ping tries again after a backoff, for up
// to openRetry or until ctx is done. (Creating the schema afterwards goes through retry.)
func (a *Assigner) ping(ctx context.Context, busy func(error) bool) error {
	deadline := time.Now().Add(openRetry)
	for i := 0; ; i++ {
		err := a.db.PingContext(ctx)
		if err == nil || busy == nil || !busy(err) || time.Now().After(deadline) || !backoff(ctx, i) {
			return err
		}
	}
}

// Close closes the database connections, unless the Assigner came from New: the caller's pool is
// the caller's to close.
func (a *Assigner) Close() error {
	if a.borrowed {
		return nil
	}
	a.releaseFile()
	return a.db.Close()
}

// Store names what the leases are shared through, for messages: the database file SQLite resolved
// (an absolute path), or the URL without its password; "postgres pool" and the like for New.
// Servers that lease from the same store keep their generator ids apart; servers with stores of
// their own do not.
func (a *Assigner) Store() string { return a.store }

// Dialect returns "sqlite", "postgres" or "mysql".
func (a *Assigner) Dialect() string { return a.d.name }

// Tables returns the names of the properties and manifest tables, qualified by their schema
// (PostgreSQL: public, whoever connects; MySQL: the database the URL names).
func (a *Assigner) Tables() (properties, manifest string) { return a.props, a.manifest }

// errRace marks an attempt that lost a race and may be tried again.
var errRace = errors.New("sqlassign: lost a race")

// retry runs f up to a.attempts times, with jittered backoff, while it fails with anything but
// ErrNoFreeGenerator or ctx's end.
func (a *Assigner) retry(ctx context.Context, op string, f func(context.Context) error) error {
	var err error
	for i := range a.attempts {
		if err = f(ctx); err == nil || errors.Is(err, snowfall.ErrNoFreeGenerator) {
			return err
		}
		if ctx.Err() != nil {
			break
		}
		backoff(ctx, i)
	}
	return a.fail(op, err)
}

// backoff waits a jittered pause that grows with attempt i (2 ms up to about a quarter second), or
// until ctx is done; it reports whether the pause ran out.
func backoff(ctx context.Context, i int) bool {
	t := time.NewTimer(time.Duration(2+rand.IntN(8<<min(i, 5))) * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Properties implements snowfall.Assigner. It writes only when a default is missing, and then
// writes every missing default in one statement, so that concurrent first users with different
// configurations never leave a manifest that mixes them (issue 18, defect 7). The statement inserts
// the names in sorted order and skips a name already present (ON CONFLICT DO NOTHING, INSERT
// IGNORE), so the first name both writers miss is where they meet: the later writer's insert of it
// waits on the earlier one's uncommitted row (a unique index check waits for the inserting
// transaction in PostgreSQL and InnoDB, in every isolation level; SQLite has one writer) and then
// skips it and every other name the earlier one wrote. A name only the later writer has (a newer
// version's property on an existing manifest) is still stored, once.
func (a *Assigner) Properties(ctx context.Context, defaults map[string]string) (map[string]string, error) {
	props, err := a.readProperties(ctx)
	if err != nil {
		return nil, err
	}
	var missing []string
	for k := range defaults {
		if _, ok := props[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return props, nil
	}
	slices.Sort(missing)
	var b strings.Builder
	args := make([]any, 0, 2*len(missing))
	b.WriteString(a.d.insertPrefix + " " + a.props + " (name, value) VALUES ")
	for i, k := range missing {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?)")
		args = append(args, k, defaults[k])
	}
	b.WriteString(a.d.insertSuffix)
	unlock := a.writer()
	_, err = a.db.ExecContext(ctx, a.d.q(b.String()), args...)
	unlock()
	if err != nil {
		return nil, a.fail("store properties "+strings.Join(missing, ", "), err)
	}
	return a.readProperties(ctx) // another process may have stored other values first
}

func (a *Assigner) readProperties(ctx context.Context) (map[string]string, error) {
	rows, err := a.db.QueryContext(ctx, "SELECT name, value FROM "+a.props)
	if err != nil {
		return nil, a.fail("read properties", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, a.fail("read properties", err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, a.fail("read properties", err)
	}
	return out, nil
}

// writer serializes this process's SQLite write transactions, which would otherwise wait for
// each other in SQLite's busy handler, sleeping in steps of up to 100 ms. Other processes still
// wait through busy_timeout. For servers it does nothing.
func (a *Assigner) writer() (unlock func()) {
	if a.d.name != "sqlite" {
		return func() {}
	}
	a.wmu.Lock()
	return a.wmu.Unlock
}

func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Free implements snowfall.Assigner: one SELECT of the free rows in the order a claim prefers them.
// The first call for a size adds the manifest's rows (Prepare).
func (a *Assigner) Free(ctx context.Context, r snowfall.FreeRequest) ([]snowfall.FreeID, error) {
	if r.Size <= 0 || r.Size > snowfall.MaxPoolSize || r.Start < 0 || r.Start >= r.Size || r.Limit < 1 {
		return nil, fmt.Errorf("sqlassign: free: size %d, start %d, limit %d: want size in [1, %d], start in [0, size), limit at least 1",
			r.Size, r.Start, r.Limit, snowfall.MaxPoolSize)
	}
	if err := a.Prepare(ctx, r.Size); err != nil {
		return nil, err
	}
	// The ids whose mark is not ahead of the claimer's clock first, from Start upwards and then
	// from 0, in the primary key's order (a range scan that stops at the limit: no sort of the
	// manifest); then, if there are too few, the others by mark, least ahead first. The reads
	// need not be one snapshot: a claim checks the state it is given, so a stale or repeated
	// entry costs one conflict at most (repeats are dropped here).
	nowMs := r.Now.UnixMilli()
	free := "SELECT generator, mark_ms, version FROM " + a.manifest + " WHERE generator >= ? AND generator < ? AND expires_ms < {now}"
	var out []snowfall.FreeID
	seen := map[int64]bool{}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{free + " AND mark_ms <= ? ORDER BY generator LIMIT ?", []any{r.Start, r.Size, nowMs}},
		{free + " AND mark_ms <= ? ORDER BY generator LIMIT ?", []any{0, r.Start, nowMs}},
		{free + " AND mark_ms > ? ORDER BY mark_ms, CASE WHEN generator >= ? THEN 0 ELSE 1 END, generator LIMIT ?",
			[]any{0, r.Size, nowMs, r.Start}},
	} {
		if len(out) >= r.Limit {
			break
		}
		if err := a.readFree(ctx, a.d.q(q.sql), append(q.args, int64(r.Limit-len(out))), seen, &out); err != nil {
			return nil, a.fail("read free generator ids", err)
		}
	}
	return out, nil
}

// readFree appends the free ids query returns to out, unless seen.
func (a *Assigner) readFree(ctx context.Context, query string, args []any, seen map[int64]bool, out *[]snowfall.FreeID) error {
	rows, err := a.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f snowfall.FreeID
		var mark int64
		if err := rows.Scan(&f.ID, &mark, &f.Version); err != nil {
			return err
		}
		if !seen[f.ID] {
			seen[f.ID] = true
			f.Mark = msTime(mark)
			*out = append(*out, f)
		}
	}
	return rows.Err()
}

// Claim implements snowfall.Assigner: one UPDATE of the row r.Free names, conditioned on the
// version and the mark Free read and on the lease having expired, its rows affected checked. Claims
// and releases add one to the version; renewals leave it, but a renewal that raises the mark fails
// the mark's condition, and so does any other write of the mark (the version is the tenure's, the
// mark is the floor's).
func (a *Assigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	id := r.Free.ID
	if err := a.checkFile(); err != nil {
		return snowfall.Claim{}, fmt.Errorf("sqlassign: claim generator %d: %w", id, err)
	}
	prev := msOf(r.Free.Mark)
	markMs := max(r.Now.UnixMilli(), prev) + r.Ahead.Milliseconds()
	unlock := a.writer()
	res, err := a.db.ExecContext(ctx, a.d.q("UPDATE "+a.manifest+
		" SET token = ?, expires_ms = {now} + ?, mark_ms = ?, claimed_ms = {now}, renewed_ms = {now}, host = ?, pid = ?, version = version + 1"+
		" WHERE generator = ? AND version = ? AND {greatest}(mark_ms, 0) = ? AND expires_ms < {now}"),
		r.Token, r.Lease.Milliseconds(), markMs, r.Holder.Host, r.Holder.PID, id, r.Free.Version, prev)
	unlock()
	if err != nil {
		return snowfall.Claim{}, a.fail(fmt.Sprintf("claim generator %d", id), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return snowfall.Claim{}, a.fail(fmt.Sprintf("claim generator %d", id), err)
	}
	if n != 1 {
		return snowfall.Claim{}, fmt.Errorf("sqlassign: claim generator %d: %w", id, snowfall.ErrClaimConflict)
	}
	return snowfall.Claim{ID: id, Prev: msTime(prev), Mark: time.UnixMilli(markMs)}, nil
}

// msOf is the stored form of a mark: Unix milliseconds, 0 for none.
func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return max(t.UnixMilli(), 0)
}

// Renew implements snowfall.Assigner: one UPDATE, one round trip. On a SQLite file it first checks
// that the file at the path is still the one Open found (checkFile): a replaced store is a lost
// lease. The mark only rises, in the
// statement itself: a renewal that arrives after a later one (its client gave up, the later one
// went through on another connection) must not lower the floor of the next holder.
func (a *Assigner) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	if err := a.checkFile(); err != nil {
		return fmt.Errorf("sqlassign: renew generator %d: %w", id, err)
	}
	defer a.writer()()
	res, err := a.db.ExecContext(ctx, a.d.q("UPDATE "+a.manifest+
		" SET expires_ms = {now} + ?, mark_ms = {greatest}(mark_ms, ?), renewed_ms = {now} WHERE generator = ? AND token = ?"),
		lease.Milliseconds(), mark.UnixMilli(), id, token)
	return a.checkOwned(res, err, "renew", id)
}

// Release implements snowfall.Assigner. It records the mark it is given, which may be below the
// ceiling the holder's renewals recorded: the holder has sealed its generator and knows the last
// tick it issued. It also clears the token, so no late renewal of the tenure can match the row.
func (a *Assigner) Release(ctx context.Context, id int64, token string, mark time.Time) error {
	defer a.writer()()
	res, err := a.db.ExecContext(ctx, a.d.q("UPDATE "+a.manifest+
		" SET token = '', expires_ms = 0, mark_ms = ?, host = '', pid = 0, version = version + 1 WHERE generator = ? AND token = ?"),
		mark.UnixMilli(), id, token)
	return a.checkOwned(res, err, "release", id)
}

func (a *Assigner) checkOwned(res sql.Result, err error, op string, id int64) error {
	if err != nil {
		return a.fail(fmt.Sprintf("%s generator %d", op, id), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return a.fail(fmt.Sprintf("%s generator %d", op, id), err)
	}
	if n != 1 {
		return fmt.Errorf("sqlassign: %s generator %d: %w: the row holds another token", op, id, snowfall.ErrLeaseLost)
	}
	return nil
}

// Expire ends the lease on id at once, as if it had lapsed, for tests of lease loss.
func (a *Assigner) Expire(ctx context.Context, id int64) error {
	if _, err := a.db.ExecContext(ctx, a.d.q("UPDATE "+a.manifest+" SET expires_ms = 0 WHERE generator = ?"), id); err != nil {
		return a.fail(fmt.Sprintf("expire generator %d", id), err)
	}
	return nil
}

// Leases implements snowfall.Assigner.
func (a *Assigner) Leases(ctx context.Context) ([]snowfall.LeaseRecord, error) {
	rows, err := a.db.QueryContext(ctx, a.d.q("SELECT generator, host, pid, claimed_ms, renewed_ms, expires_ms, mark_ms FROM "+
		a.manifest+" WHERE expires_ms > {now} ORDER BY generator"))
	if err != nil {
		return nil, a.fail("list leases", err)
	}
	defer rows.Close()
	var out []snowfall.LeaseRecord
	for rows.Next() {
		var r snowfall.LeaseRecord
		var claimed, renewed, expires, mark int64
		if err := rows.Scan(&r.ID, &r.Holder.Host, &r.Holder.PID, &claimed, &renewed, &expires, &mark); err != nil {
			return nil, a.fail("list leases", err)
		}
		r.Claimed, r.Renewed, r.Expires, r.Mark = msTime(claimed), msTime(renewed), msTime(expires), msTime(mark)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, a.fail("list leases", err)
	}
	return out, nil
}

var _ snowfall.Assigner = (*Assigner)(nil)
