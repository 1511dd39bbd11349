package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// TestLeasesRaiseMarks runs snowfall leases raise-marks on every backend (SQLite, PostgreSQL,
// MariaDB, etcd): usage errors, a store without a manifest, the refusal while an id is held (and
// --force), a dry run that changes nothing, and a raise after which a claim starts above the
// raised mark.
func TestLeasesRaiseMarks(t *testing.T) {
	for name, db := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "leases.db") },
		"postgres": func(*testing.T) string { return testdb.Postgres() },
		"mysql":    func(*testing.T) string { return testdb.MySQL() },
		"etcd":     func(*testing.T) string { return etcdTestURL() },
	} {
		t.Run(name, func(t *testing.T) { raiseMarksOn(t, db(t)) })
	}
}

func raiseMarksOn(t *testing.T, db string) {
	var b [5]byte
	rand.Read(b[:])
	g := "t" + hex.EncodeToString(b[:])
	ctx := context.Background()
	u, err := assignurl.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	a, err := assignurl.Open(ctx, u, g)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer func() {
		if d, ok := a.(interface{ Drop(context.Context) error }); ok {
			d.Drop(ctx)
		}
	}()
	run := func(args ...string) (int, string, string) {
		t.Helper()
		return runCmd(t, "", nil, append([]string{"leases", "raise-marks", "--db", db, "--group", g}, args...)...)
	}
	for _, c := range []struct {
		args []string
		code int
		err  string
	}{
		{nil, 2, "--by is required"},
		{[]string{"--by", "25h"}, 2, "--by 25h0m0s out of range [1ms, 24h0m0s]"},
		{[]string{"--by", "30s"}, 1, "records no manifest"},
	} {
		if code, _, errs := run(c.args...); code != c.code || !strings.Contains(errs, c.err) {
			t.Errorf("raise-marks %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.err)
		}
	}
	if code, _, errs := runCmd(t, "", nil, "schema", "create", "--db", db, "--group", g, "--probe", "2s"); code != 0 {
		t.Fatalf("schema create: exit %d: %s", code, errs)
	}
	if code, _, errs := run("--by", "3s"); code != 2 || !strings.Contains(errs, "shorter than the group's lease 4s") {
		t.Errorf("raise-marks --by 3s with a 4 s lease: exit %d, stderr %q; want exit 2", code, errs)
	}

	// A holder: the raise refuses, and changes nothing; --force raises its mark too.
	c, err := leasetest.ClaimFirst(ctx, a, 2048, snowfall.ClaimRequest{Token: "live", Lease: time.Minute, Now: time.Now(), Ahead: 4 * time.Second,
		Holder: snowfall.Holder{Host: "web-1", PID: 7}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := run("--by", "30s")
	if code != 1 || !strings.Contains(errs, "1 generator ids are held by live leases ("+itoa(c.ID)+")") || strings.Contains(out, "GENERATOR") {
		t.Errorf("raise-marks while id %d is held: exit %d, stdout %q, stderr %q; want exit 1 naming it", c.ID, code, out, errs)
	}
	code, out, errs = run("--by", "30s", "--force", "--dry-run")
	if code != 0 || !strings.Contains(errs, "dry run: would raise 2048 of 2048 marks") || !strings.Contains(out, "\n"+itoa(c.ID)+" ") {
		t.Errorf("raise-marks --force --dry-run: exit %d, stderr %q, stdout %.300q", code, errs, out)
	}
	if code, _, errs = run("--by", "30s", "--force", "--dry-run"); !strings.Contains(errs, "would raise 2048 of 2048") {
		t.Errorf("a second dry run: exit %d, %q: the first one changed marks", code, errs)
	}
	if err := a.Release(ctx, c.ID, "live", c.Mark); err != nil {
		t.Fatal(err)
	}

	// No holder: raise every mark to now + 30 s; the next claim's floor is the raised mark.
	before := time.Now()
	code, out, errs = run("--by", "30s")
	after := time.Now()
	if code != 0 || !strings.Contains(errs, "raised 2048 of 2048 marks") || len(strings.Split(strings.TrimSpace(out), "\n")) != 2049 {
		t.Fatalf("raise-marks --by 30s: exit %d, stderr %q, %d lines of stdout", code, errs, len(strings.Split(out, "\n")))
	}
	got, err := leasetest.ClaimFirst(ctx, a, 2048, snowfall.ClaimRequest{Token: "next", Lease: time.Minute, Now: time.Now(), Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := before.Add(30*time.Second).Truncate(time.Millisecond), after.Add(30*time.Second)
	if got.Prev.Before(lo) || got.Prev.After(hi) {
		t.Errorf("the claim after the raise has floor %v, want the raised mark in [%v, %v]", got.Prev, lo, hi)
	}
	if code, _, errs = run("--by", "5s", "--force"); code != 0 || !strings.Contains(errs, "raised 0 of 2048 marks") {
		t.Errorf("a raise to a lower target: exit %d, stderr %q; want nothing changed", code, errs)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestRaiseMarksProbeRange: raise-marks reads the manifest's probe_ms and checks it against
// [MinProbe, MaxProbe] before it computes the group's lease: a value outside (or one that
// overflowed the lease into a negative duration) is an error naming the value and the range,
// and nothing is raised. It takes no generator id from its command line: a flag naming one is a
// usage error.
func TestRaiseMarksProbeRange(t *testing.T) {
	ctx := context.Background()
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	for i, v := range []string{"9223372036854775807", "4611686018427387904", "0", "-5", "49", "600001", "abc", "5e3", " 2000"} {
		g := "p" + strconv.Itoa(i)
		a, err := sqlassign.Open(ctx, db, sqlassign.Options{Group: g})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Properties(ctx, map[string]string{snowfall.PropLayout: snowfall.PresetSnowfall, snowfall.PropEpochMs: "1577836800000",
			snowfall.PropProbeMs: v}); err != nil {
			t.Fatal(err)
		}
		a.Close()
		code, out, errs := runCmd(t, "", nil, "leases", "raise-marks", "--db", db, "--group", g, "--by", "30s")
		if code != 1 || !strings.Contains(errs, "probe_ms") || !strings.Contains(errs, "[50, 600000]") || out != "" {
			t.Errorf("probe_ms %q: exit %d, stdout %q, stderr %q; want exit 1 naming probe_ms, the value and [50, 600000]", v, code, out, errs)
		}
	}
	for _, args := range [][]string{{"--generator", "5000"}, {"--ids", "-1"}, {"--by", "30s", "5000"}} {
		code, _, errs := runCmd(t, "", nil, append([]string{"leases", "raise-marks", "--db", db}, args...)...)
		if code != 2 {
			t.Errorf("raise-marks %q: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}
