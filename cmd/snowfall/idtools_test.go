package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/sqlfunc"
)

func TestShardCmd(t *testing.T) {
	_, out, _ := runCmd(t, "", nil, "next", "-n", "50", "--layout", "twitter", "--dc", "2", "--worker", "3", "--state-file", tempState(t))
	ids := strings.Fields(out)
	tw, _ := snowfall.Preset(snowfall.PresetTwitter)
	check := func(got string) {
		t.Helper()
		lines := strings.Fields(got)
		if len(lines) != len(ids) {
			t.Fatalf("got %d shards for %d IDs", len(lines), len(ids))
		}
		for i, s := range lines {
			id, _ := snowfall.ParseID(ids[i])
			want, _ := tw.Shard(id, 16)
			if s != strconv.Itoa(want) {
				t.Fatalf("ID %s: shard %s, want %d (Layout.Shard)", ids[i], s, want)
			}
		}
	}
	code, got, errs := runCmd(t, "", nil, append([]string{"shard", "--shards", "16", "--layout", "twitter"}, ids...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	check(got)
	code, got, errs = runCmd(t, out, map[string]string{"SNOWFALL_SHARDS": "16", "SNOWFALL_LAYOUT": "twitter"}, "shard")
	if code != 0 {
		t.Fatalf("stdin: exit %d: %s", code, errs)
	}
	check(got)
	code, got, errs = runCmd(t, "", nil, "shard", "--shards", "8", "5", "x", "-1")
	if code != 1 || strings.Count(got, "\n") != 1 || !strings.Contains(errs, `"x"`) || !strings.Contains(errs, "2 malformed IDs") {
		t.Errorf("malformed IDs: exit %d, stdout %q, stderr %q; want exit 1, one shard, and both named", code, got, errs)
	}
}

func TestRangeCmd(t *testing.T) {
	l := snowfall.DefaultLayout()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 23, 59, 59, 999e6, time.UTC)
	code, out, errs := runCmd(t, "", nil, "range", from.Format(time.RFC3339Nano), strconv.FormatInt(to.UnixMilli(), 10))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lo, _ := l.FirstID(from)
	hi, _ := l.LastID(to)
	if want := fmt.Sprintf("%d %d\n", lo, hi); out != want {
		t.Errorf("range = %q, want %q", out, want)
	}
	// Every ID issued now lies in the range of now's tick.
	_, ids, _ := runCmd(t, "", nil, "next", "-n", "3", "--layout", "js", "--generator", "31", "--state-file", tempState(t))
	id, _ := snowfall.ParseID(strings.Fields(ids)[2])
	js, _ := snowfall.Preset(snowfall.PresetJS)
	d, _ := js.Decode(id)
	_, out, _ = runCmd(t, "", nil, "range", "--layout", "js", d.Time.Format(time.RFC3339Nano))
	var a, b snowfall.ID
	if _, err := fmt.Sscanf(out, "%d %d", &a, &b); err != nil || id < a || id > b || b >= 1<<53 {
		t.Errorf("js range of %v = %q, want it to hold %d and stay below 2^53", d.Time, out, id)
	}
}

func TestSQLCmd(t *testing.T) {
	code, out, errs := runCmd(t, "", nil, "sql", "--dialect", "postgres", "--layout", "twitter,spread=64", "--prefix", "ids_")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, _ := snowfall.ParseLayout("twitter,spread=64")
	if want, _ := sqlfunc.Generate(l, sqlfunc.Postgres, "ids_"); out != want {
		t.Errorf("snowfall sql printed\n%s\nwant sqlfunc.Generate's\n%s", out, want)
	}
}

func TestIDToolsUsageErrors(t *testing.T) {
	far := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	js, _ := snowfall.Preset(snowfall.PresetJS)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"shards missing", nil, []string{"shard", "1"}, "--shards is required"},
		{"shards zero", nil, []string{"shard", "--shards", "0", "1"}, "--shards 0 out of range [1, 1048576]"},
		{"shards above", nil, []string{"shard", "--shards", "1048577", "1"}, "--shards 1048577 out of range [1, 1048576]"},
		{"shards env", map[string]string{"SNOWFALL_SHARDS": "-3"}, []string{"shard", "1"}, "SNOWFALL_SHARDS -3 out of range"},
		{"shards not a number", nil, []string{"shard", "--shards", "8x", "1"}, "--shards"},
		{"spread on gen layout", nil, []string{"shard", "--shards", "8", "--layout", "snowfall,spread=64", "1"}, "needs the seq field lowest"},
		{"range no from", nil, []string{"range"}, "no FROM time"},
		{"range bad from", nil, []string{"range", "yesterday"}, `FROM snowfall: time "yesterday" is neither RFC 3339`},
		{"range ms out", nil, []string{"range", "--", "-5"}, "Unix milliseconds -5 out of range [0, 253402300799999]"},
		{"range ms above", nil, []string{"range", "253402300800000"}, "out of range [0, 253402300799999]"},
		{"range bad to", nil, []string{"range", "2026-01-01T00:00:00Z", "tomorrow"}, `TO snowfall: time "tomorrow"`},
		{"range before epoch", nil, []string{"range", "2019-06-01T00:00:00Z"}, "range [2020-01-01T00:00:00.000Z, 2054-11-03"},
		{"range to before from", nil, []string{"range", "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"}, "is before FROM"},
		{"range three args", nil, []string{"range", "1", "2", "3"}, `unexpected argument "3"`},
		{"sql no dialect", nil, []string{"sql"}, "--dialect is required: postgres or mysql"},
		{"sql bad dialect", nil, []string{"sql", "--dialect", "oracle"}, `--dialect "oracle": want postgres or mysql`},
		{"sql bad dialect env", map[string]string{"SNOWFALL_DIALECT": "sqlite"}, []string{"sql"}, `SNOWFALL_DIALECT "sqlite"`},
		{"sql bad prefix", nil, []string{"sql", "--dialect", "mysql", "--prefix", "x;drop"}, `--prefix: prefix "x;drop"`},
		{"floor too far", nil, []string{"next", "--floor", far}, "--floor " + far + ": snowfall: clock moved backwards: floor"},
		{"floor too far says latest", nil, []string{"next", "--floor", far}, "so the floor must be at most"},
		{"floor env", map[string]string{"SNOWFALL_FLOOR": far}, []string{"next"}, "SNOWFALL_FLOOR " + far},
		{"floor not an ID", nil, []string{"next", "--floor", "12x"}, `--floor: snowfall: invalid id: "12x"`},
		{"floor not a time", nil, []string{"next", "--floor", "2026-13-01"}, "neither an ID nor an RFC 3339 time"},
		{"floor above js", nil, []string{"next", "--layout", "js", "--floor", (js.MaxID() + 1).String()}, "range [0, 9007199254740991]"},
		{"floor before epoch", nil, []string{"next", "--floor", "2019-01-01T00:00:00Z"}, "outside layout snowfall's range"},
		{"serve floor past", nil, []string{"serve", "--generator", "1", "--floor", far}, "--floor"},
		{"serve ID floor needs layout", nil, []string{"serve", "--db", "sqlite:///nonexistent/x.db", "--floor", "12345"}, "give --layout (and --epoch) of the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tt.env, tt.args...)
			if code != 2 || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", code, errs, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

// TestNextFloor: snowfall next --floor issues only above an old generator's largest ID, half a
// second ahead of the clock (it waits), or above a time.
func TestNextFloor(t *testing.T) {
	l := snowfall.DefaultLayout()
	old, _ := l.Compose(l.Ticks(time.Now().Add(500*time.Millisecond)), 4095, snowfall.Node{Generator: 2047})
	state := tempState(t)
	code, out, errs := runCmd(t, "", nil, "next", "-n", "3", "--floor", old.String(), "--generator", "0", "--state-file", state)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, s := range strings.Fields(out) {
		if id, _ := snowfall.ParseID(s); id <= old {
			t.Fatalf("ID %d at or below the floor %d", id, old)
		}
	}
	at := time.Now().Add(200 * time.Millisecond).UTC()
	code, out, errs = runCmd(t, "", nil, "next", "--floor", at.Format(time.RFC3339Nano), "--generator", "0", "--state-file", state)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	id, _ := snowfall.ParseID(strings.TrimSpace(out))
	if d, _ := l.Decode(id); l.Ticks(d.Time) <= l.Ticks(at) {
		t.Errorf("ID %d at %v, not after the floor time %v", id, d.Time, at)
	}
}

// TestServeFloor: a static server and a leased one given --floor serve only IDs above it.
func TestServeFloor(t *testing.T) {
	l := snowfall.DefaultLayout()
	old, _ := l.Compose(l.Ticks(time.Now().Add(300*time.Millisecond)), 4095, snowfall.Node{Generator: 2047})
	for _, args := range [][]string{
		{"--generator", "3", "--floor", old.String()},
		{"--generator", "3", "--state-file", filepath.Join(t.TempDir(), "state"), "--floor", old.String()},
		{"--db", "sqlite://" + filepath.Join(t.TempDir(), "leases.db"), "--layout", "snowfall", "--floor", old.String()},
	} {
		t.Run(args[0]+" "+args[2], func(t *testing.T) {
			s := startServe(t, nil, args...)
			deadline := time.Now().Add(10 * time.Second)
			for {
				code, body := cmdtest.Get(t, s.URL+"/")
				if code == 200 {
					id, err := snowfall.ParseID(body)
					if err != nil || id <= old {
						t.Fatalf("GET / = %q (%v), at or below the floor %d", body, err, old)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatal(errors.New("no ID within 10 s: " + body))
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
