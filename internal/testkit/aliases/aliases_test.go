package aliases

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/seeds"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres"
)

// ciCases is how many cases go test runs by default: about 40 s on two loaded cores.
const ciCases = 30

var bin = cmdtest.Command("snowfall")

func TestMain(m *testing.M) {
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// TestAliases runs the search (see the package documentation for its variables) and asserts that
// no case breaks the rule. Each failing case is printed with the command that replays it.
func TestAliases(t *testing.T) {
	sum, failed := search(t, bin.Path(t), nil)
	report(t, sum.String())
	t.Logf("cases by kind: %v; %d failed; %v", sum.Kinds, sum.Failed, sum.Elapsed.Round(time.Second))
	for _, o := range failed {
		t.Errorf("%s\n  found: %s\n  links: %s\nreplay: %s", o.Case, o.Violation, strings.Join(o.Case.Made, "; "), replay(o.Case.Seed, "^TestAliases$", ""))
	}
}

// replay returns the command that runs seed's case again.
func replay(seed uint64, run, tags string) string {
	return fmt.Sprintf("SNOWFALL_ALIASES_SEED=%d go test %s-run '%s' ./internal/testkit/aliases -v", seed, tags, run)
}

// search runs cases with exe as the environment says (SNOWFALL_ALIASES_SEED, _FIRST, _CASES,
// _DURATION) until stop, if not nil, returns true for an outcome. It returns the summary and the
// failed outcomes.
func search(t *testing.T, exe string, stop func(*Outcome) bool) (Summary, []*Outcome) {
	t.Helper()
	env, err := ProbeEnv()
	if err != nil {
		t.Fatal(err)
	}
	if !env.Bind {
		t.Log("unshare -m does not work here: no bind mounts in this search")
	}
	plan := seeds.FromEnv(t, seeds.Vars{Seed: "SNOWFALL_ALIASES_SEED", First: "SNOWFALL_ALIASES_FIRST",
		Count: "SNOWFALL_ALIASES_CASES", Duration: "SNOWFALL_ALIASES_DURATION"}, ciCases)
	verbose := plan.One
	var sum Summary
	var failed []*Outcome
	began := time.Now()
	for i := uint64(0); plan.More(i); i++ {
		o := runCase(t, exe, env, plan.First+i)
		switch {
		case verbose || testing.Verbose() && o.Failed():
			t.Logf("%s\n  outcome: refused %q, generators %v, %d IDs, %d shared, violation %q\n  links: %s",
				o.Case, o.Refused, o.Gens, o.IDs, o.Shared, o.Violation, strings.Join(o.Case.Made, "; "))
		case testing.Verbose():
			t.Logf("seed %d %s restart=%v: refused %q, generators %v", o.Case.Seed, o.Case.Kind, o.Case.Restart, o.Refused, o.Gens)
		}
		sum.Add(o)
		if o.Failed() {
			failed = append(failed, o)
		}
		if stop != nil && stop(o) {
			break
		}
	}
	sum.Elapsed = time.Since(began)
	return sum, failed
}

// runCase makes and runs the case of seed in a directory of its own, and drops the lease tables
// of a database case.
func runCase(t *testing.T, exe string, env Env, seed uint64) *Outcome {
	t.Helper()
	root, err := caseDir(t.TempDir(), seed)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCase(seed, root, env)
	if err != nil {
		t.Fatalf("seed %d: make the case: %v", seed, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o, err := Run(ctx, exe, c, root, env)
	if err != nil {
		t.Fatalf("%s\nharness: %v\nreplay: %s", c, err, replay(seed, "^TestAliases$", ""))
	}
	var stores []string
	switch c.Kind {
	case KindPostgres:
		decoy := *env.Postgres
		decoy.Path = "/postgres"
		stores = []string{testdb.Postgres(), decoy.String()}
	case KindMySQL:
		stores = []string{testdb.MySQL()}
	}
	for _, u := range stores {
		if a, err := sqlassign.Open(ctx, u, sqlassign.Options{Group: c.Group}); err == nil {
			a.Drop(ctx)
			a.Close()
		} else {
			t.Errorf("drop the tables of group %s: %v", c.Group, err)
		}
	}
	return o
}

// report logs a summary line, prints it, and appends it to $SNOWFALL_FLEET_SUMMARY, which .ci/run
// prints with the fleet fault suite's and the simulation's lines.
func report(t *testing.T, line string) {
	t.Helper()
	t.Log(line)
	fmt.Println(line)
	if path := os.Getenv("SNOWFALL_FLEET_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Errorf("SNOWFALL_FLEET_SUMMARY: %v", err)
			return
		}
		defer f.Close()
		if _, err := fmt.Fprintln(f, line); err != nil {
			t.Errorf("SNOWFALL_FLEET_SUMMARY: %v", err)
		}
	}
}
