package fleet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// The short variants run in go test (about 25 s per backend, 35 s for etcd, 110 s for the package
// under -race).
// The long variant repeats rounds of faults until the duration ends:
//
//	SNOWFALL_FLEET_LONG=1 SNOWFALL_FLEET_DURATION=10m go test -v -run 'TestFleet(Postgres|MariaDB|Static)$' -timeout 0 ./internal/testkit/fleet
//
// SNOWFALL_FLEET_SUMMARY names a file the summary lines are appended to (.ci/run prints it, since
// go test shows a passing package's output only with -v).
// SNOWFALL_FLEET_SEED picks another fault schedule (default 1). SNOWFALL_TEST_POSTGRES and
// SNOWFALL_TEST_MYSQL name the databases; an unreachable database fails the test.

var (
	binDir  string
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "snowfall-fleet-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// snowfallBin builds the snowfall command once per test binary.
func snowfallBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "snowfall")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/snowfall-go/snowfall/cmd/snowfall").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// variant is the size of a run: short in go test, long with SNOWFALL_FLEET_LONG=1.
type variant struct {
	long   bool
	until  time.Duration
	rounds int
	seed   uint64
}

func runVariant(t *testing.T) variant {
	v := variant{rounds: 2, seed: 1}
	if s := os.Getenv("SNOWFALL_FLEET_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SNOWFALL_FLEET_SEED=%q: %v", s, err)
		}
		v.seed = n
	}
	if os.Getenv("SNOWFALL_FLEET_LONG") == "1" {
		v.long, v.rounds = true, 0
		d, err := time.ParseDuration(envOr("SNOWFALL_FLEET_DURATION", "10m"))
		if err != nil {
			t.Fatalf("SNOWFALL_FLEET_DURATION: %v", err)
		}
		v.until = d
	}
	return v
}

// skew is the clock offset of the skewed servers.
const skew = 5 * time.Second

type fleetCase struct {
	name  string
	db    string
	lease time.Duration
	proxy func(target string) (Proxy, error)
	extra []string
	state bool
	// rounds, when not zero, replaces the short variant's rounds of faults.
	rounds int
	// more injects the backend's own faults after the others, counting them in faults.
	more func(ctx context.Context, f *Fleet, v variant, faults map[string]int) error
}

// run is the outcome of pullDuring.
type run struct {
	report *Report
	log    *Log
	fleet  *Fleet
	dir    string
}

// pullDuring starts a fleet of cfg (filling in the binary, directory and logger), pulls IDs from it
// while script runs and for a while after, stops it and checks what the clients received.
func pullDuring(t *testing.T, cfg Config, seed uint64, script func(ctx context.Context, f *Fleet) error) run {
	t.Helper()
	cfg.Bin = snowfallBin(t)
	dir, err := os.MkdirTemp("", "snowfall-fleet-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	cfg.Dir = dir
	cfg.Logf = t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
	}()
	pullCtx, stopPull := context.WithCancel(ctx)
	var lg *Log
	pulled := make(chan struct{})
	go func() {
		defer close(pulled)
		lg = f.Pull(pullCtx, Load{PerServer: 2, Pause: 4 * time.Millisecond, MaxBatch: 64, Timeout: time.Second, Seed: seed})
	}()
	sleep(ctx, 2*time.Second)
	scriptErr := script(ctx, f)
	sleep(ctx, 2*time.Second)
	stopPull()
	<-pulled
	end := time.Now()
	closed = true
	closeErr := f.Close()
	if scriptErr != nil {
		t.Errorf("injecting faults: %v", scriptErr)
	}
	if closeErr != nil {
		t.Errorf("stopping the fleet: %v", closeErr)
	}
	w := Window{From: f.StartTime().Add(-skew - time.Second), To: end.Add(skew + time.Second)}
	return run{report: Check(lg, snowfall.DefaultLayout(), w, cfg.Servers), log: lg, fleet: f, dir: cfg.Dir}
}

// runFleet runs the fault schedule on a fleet of 4 servers, two of them with skewed clocks, and
// fails the test unless every check passes.
func runFleet(t *testing.T, fc fleetCase) {
	v := runVariant(t)
	cfg := Config{
		DB:         fc.db,
		Group:      fmt.Sprintf("fleet_%s_%d", fc.name, time.Now().UnixNano()%1e12),
		Servers:    4,
		Probe:      200 * time.Millisecond,
		Offsets:    []time.Duration{0, -skew, skew, 0},
		NewProxy:   fc.proxy,
		ExtraArgs:  fc.extra,
		StateFiles: fc.state,
	}
	var faults map[string]int
	if fc.rounds != 0 && !v.long {
		v.rounds = fc.rounds
	}
	res := pullDuring(t, cfg, v.seed, func(ctx context.Context, f *Fleet) error {
		var err error
		faults, err = f.Inject(ctx, Plan{Seed: v.seed, Lease: fc.lease, Hold: 3 * fc.lease, Settle: 1500 * time.Millisecond,
			Rounds: v.rounds, Until: v.until})
		if err == nil && fc.more != nil {
			err = fc.more(ctx, f, v, faults)
		}
		return err
	})
	r := res.report
	for _, line := range Tenures(res.log, snowfall.DefaultLayout()) {
		t.Log(line)
	}
	summary := r.Summary(fc.name, faults)
	printSummary(t, summary)
	if !r.OK() {
		t.Errorf("fleet %s broke its guarantees (logs in %s):\n%s", fc.name, res.dir, r.Problems())
	}
	if r.IDs == 0 {
		t.Error("no IDs received")
	}
	for i, d := range r.Unavailable {
		if d > time.Duration(float64(res.fleet.Since())*0.8) {
			t.Errorf("server %d unavailable for %v of the run", i, d)
		}
	}
}

// TestFleetStatic runs static generators with state files: kills, pauses, skewed clocks, SIGTERM
// and restarts.
func TestFleetStatic(t *testing.T) {
	runFleet(t, fleetCase{name: "static", lease: 500 * time.Millisecond, state: true})
}

// leaseOf is the lease of a fleet probed every 200 ms: two probe intervals (LeaseSettings' default).
const leaseOf = 400 * time.Millisecond

// TestFleetPostgres runs the fleet leased through PostgreSQL.
func TestFleetPostgres(t *testing.T) {
	runFleet(t, fleetCase{name: "postgres", lease: leaseOf, proxy: newProxy,
		db: testdb.Postgres()})
}

// TestFleetMariaDB runs the fleet leased through MariaDB.
func TestFleetMariaDB(t *testing.T) {
	runFleet(t, fleetCase{name: "mariadb", lease: leaseOf, proxy: newProxy,
		db: testdb.MySQL()})
}

// TestFleetEtcd runs the fleet leased through a three-member etcd cluster of its own: the usual
// faults, one server partitioned from every member (dbcut), then etcd's own: the leader killed
// (another is elected) and a member restarted. Its short variant runs one round of each.
func TestFleetEtcd(t *testing.T) {
	c := startEtcd(t)
	runFleet(t, fleetCase{name: "etcd", lease: leaseOf, proxy: newProxy, db: c.URL("fleet"), rounds: 1,
		more: func(ctx context.Context, f *Fleet, v variant, faults map[string]int) error {
			logf := func(format string, args ...any) {
				t.Logf("%6.1fs "+format, append([]any{f.Since().Seconds()}, args...)...)
			}
			rounds := 1
			if v.long {
				rounds = max(int(v.until/(20*time.Second)), 1)
			}
			return c.injectEtcd(ctx, logf, rounds, 2*time.Second, faults)
		}})
}

// printSummary logs a fleet's summary line, prints it, and appends it to $SNOWFALL_FLEET_SUMMARY.
func printSummary(t *testing.T, summary string) {
	t.Helper()
	t.Log(summary)
	fmt.Println(summary)
	path := os.Getenv("SNOWFALL_FLEET_SUMMARY")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Errorf("SNOWFALL_FLEET_SUMMARY: %v", err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, summary); err != nil {
		t.Errorf("SNOWFALL_FLEET_SUMMARY: %v", err)
	}
}
