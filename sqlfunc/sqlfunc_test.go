package sqlfunc_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/sqlfunc"
)

// layouts are the layouts whose functions the tests run: every preset, a spread, 10 ms ticks, and
// dc and worker apart with the sequence between them.
func layouts(t *testing.T) []snowfall.Layout {
	t.Helper()
	var ls []snowfall.Layout
	for _, name := range snowfall.PresetNames() {
		l, err := snowfall.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	for _, spec := range []string{"twitter,spread=64", "time=39,seq=8,gen=16,unit=10ms", "time=41,worker=6,seq=12,dc=4", "time=40,seq=8,gen=5"} {
		l, err := snowfall.ParseLayout(spec)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	return ls
}

// cases returns the IDs to decode under l: seeded IDs composed across the whole range (first and
// last tick, sequence and node extremes), random 64-bit values, and values l cannot issue.
func cases(l snowfall.Layout, rng *rand.Rand) []int64 {
	ids := []int64{0, 1, int64(l.MaxID()), int64(l.MaxID()) - 1, -1, math.MinInt64, math.MaxInt64}
	if l.Width() < snowfall.FullWidth {
		ids = append(ids, int64(l.MaxID())+1, 1<<53, 1<<62)
	}
	pick := func(max int64) int64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return max
		}
		return rng.Int64N(max + 1)
	}
	for range 150 {
		node := snowfall.NodeOf(l, pick(snowfall.PoolSize(l)-1))
		id, err := l.Compose(pick(l.Max(snowfall.FieldTime)), pick(l.Max(snowfall.FieldSequence)), node)
		if err != nil {
			panic(err)
		}
		ids = append(ids, int64(id))
	}
	for range 50 {
		ids = append(ids, int64(rng.Uint64()))
	}
	return ids
}

var shardNs = []int{1, 2, 7, 8, 16, 64, 1000, snowfall.MaxShards, 0, -1, snowfall.MaxShards + 1}

// dbCase is a database the functions run in.
type dbCase struct {
	dialect string
	open    func(t *testing.T) *sql.DB
	drop    func(name string, args int) string
}

func postgresDB(t *testing.T) *sql.DB {
	db, err := sql.Open("pgx", testdb.Postgres())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mysqlDB(t *testing.T) *sql.DB {
	u, err := url.Parse(testdb.MySQL())
	if err != nil {
		t.Fatal(err)
	}
	c := mysql.NewConfig()
	c.User = u.User.Username()
	c.Passwd, _ = u.User.Password()
	c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
	c.ParseTime = true // DATETIME as time.Time, in UTC
	db, err := sql.Open("mysql", c.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var dbs = []dbCase{
	{sqlfunc.Postgres, postgresDB, func(name string, args int) string {
		if args == 2 {
			return "DROP FUNCTION IF EXISTS " + name + "(bigint, integer)"
		}
		return "DROP FUNCTION IF EXISTS " + name + "(bigint)"
	}},
	{sqlfunc.MySQL, mysqlDB, func(name string, _ int) string { return "DROP FUNCTION IF EXISTS " + name }},
}

// install runs the generated SQL for l in db, statement by statement, under a prefix of its own,
// and drops the functions when the test ends.
func install(t *testing.T, db *sql.DB, d dbCase, l snowfall.Layout, prefix string) {
	t.Helper()
	script, err := sqlfunc.Generate(l, d.dialect, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range sqlfunc.Names(l, prefix) {
			args := 1
			if strings.HasSuffix(name, "shard") {
				args = 2
			}
			if _, err := db.Exec(d.drop(name, args)); err != nil {
				t.Errorf("%s: %v", d.drop(name, args), err)
			}
		}
	})
	for _, stmt := range strings.Split(script, ";\n") {
		if body := strings.TrimSpace(stripComments(stmt)); body != "" {
			if _, err := db.Exec(body); err != nil {
				t.Fatalf("%s: %v\n%s", d.dialect, err, body)
			}
		}
	}
}

func stripComments(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(line, "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestFunctionsInDatabases runs the generated functions in PostgreSQL and MariaDB for every layout
// and compares each answer with the Go code's: Decode's fields and time, Shard, and NULL wherever
// Go returns an error (an id the layout cannot issue, n out of range).
func TestFunctionsInDatabases(t *testing.T) {
	for _, d := range dbs {
		t.Run(d.dialect, func(t *testing.T) {
			db := d.open(t)
			t.Cleanup(func() { db.Close() }) // after the functions are dropped
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := db.PingContext(ctx); err != nil {
				t.Fatalf("%s: %v", d.dialect, err)
			}
			rng := rand.New(rand.NewPCG(22, 5))
			for li, l := range layouts(t) {
				prefix := fmt.Sprintf("t%d_%d_", rng.Uint32(), li)
				install(t, db, d, l, prefix)
				checkLayout(t, ctx, db, d.dialect, l, prefix, rng)
			}
		})
	}
}

func checkLayout(t *testing.T, ctx context.Context, db *sql.DB, dialect string, l snowfall.Layout, p string, rng *rand.Rand) {
	t.Helper()
	ph := func(i int) string {
		if dialect == sqlfunc.Postgres {
			return fmt.Sprintf("$%d", i)
		}
		return "?"
	}
	nodeCols := []string{p + "generator"}
	if !l.Has(snowfall.FieldGenerator) {
		nodeCols = []string{p + "dc", p + "worker"}
	}
	var cols []string
	for _, f := range append([]string{p + "unix_ms", p + "time", p + "sequence"}, nodeCols...) {
		cols = append(cols, fmt.Sprintf("%s(%s)", f, ph(1)))
	}
	cols = append(cols, fmt.Sprintf("%sshard(%s, %s)", p, ph(2), ph(3)))
	q := "SELECT " + strings.Join(cols, ", ")
	for i, id := range cases(l, rng) {
		n := shardNs[i%len(shardNs)]
		var (
			ms, seq, shard sql.NullInt64
			tm             sql.NullTime
			node           = make([]sql.NullInt64, len(nodeCols))
		)
		dest := []any{&ms, &tm, &seq}
		for i := range node {
			dest = append(dest, &node[i])
		}
		dest = append(dest, &shard)
		args := []any{id, id, n}
		if dialect == sqlfunc.MySQL { // one argument per ?
			args = nil
			for range len(cols) - 1 {
				args = append(args, id)
			}
			args = append(args, id, n)
		}
		if err := db.QueryRowContext(ctx, q, args...).Scan(dest...); err != nil {
			t.Fatalf("%s %s: id %d: %v", dialect, l.Spec(), id, err)
		}
		what := fmt.Sprintf("%s, layout %s, id %d", dialect, l.Spec(), id)
		dec, err := l.Decode(snowfall.ID(id))
		if err != nil {
			if !errors.Is(err, snowfall.ErrInvalidID) {
				t.Fatalf("%s: Decode: %v", what, err)
			}
			if ms.Valid || tm.Valid || seq.Valid || shard.Valid || node[0].Valid {
				t.Fatalf("%s: Go refuses it (%v), SQL decodes it: ms %v time %v seq %v shard %v", what, err, ms, tm, seq, shard)
			}
			continue
		}
		if !ms.Valid || ms.Int64 != dec.UnixMilli() {
			t.Fatalf("%s: unix_ms = %v, Go %d", what, ms, dec.UnixMilli())
		}
		if !tm.Valid || !tm.Time.Equal(dec.Time) {
			t.Fatalf("%s: time = %v, Go %v", what, tm, dec.Time)
		}
		if !seq.Valid || seq.Int64 != dec.Sequence {
			t.Fatalf("%s: sequence = %v, Go %d", what, seq, dec.Sequence)
		}
		want := []int64{dec.Generator}
		if !l.Has(snowfall.FieldGenerator) {
			want = []int64{dec.DC, dec.Worker}
		}
		for i := range node {
			if !node[i].Valid || node[i].Int64 != want[i] {
				t.Fatalf("%s: %s = %v, Go %d", what, nodeCols[i], node[i], want[i])
			}
		}
		s, err := l.Shard(snowfall.ID(id), n)
		switch {
		case err != nil && shard.Valid:
			t.Fatalf("%s: shard(n=%d) = %d, Go refuses it: %v", what, n, shard.Int64, err)
		case err == nil && (!shard.Valid || shard.Int64 != int64(s)):
			t.Fatalf("%s: shard(n=%d) = %v, Go %d", what, n, shard, s)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	l := snowfall.DefaultLayout()
	for _, c := range []struct{ dialect, prefix, want string }{
		{"oracle", "snowfall_", `dialect "oracle": want postgres or mysql`},
		{"postgres", "", `prefix ""`},
		{"postgres", "1x_", `prefix "1x_"`},
		{"mysql", "a;drop table x;--", "a-z, 0-9 and _"},
		{"mysql", "Snow_", `prefix "Snow_"`},
		{"postgres", strings.Repeat("a", 41), "1 to 40 characters"},
	} {
		if _, err := sqlfunc.Generate(l, c.dialect, c.prefix); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Generate(%q, %q) = %v, want an error mentioning %q", c.dialect, c.prefix, err, c.want)
		}
	}
}
