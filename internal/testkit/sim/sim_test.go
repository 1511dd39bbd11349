package sim

import (
	"fmt"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/seeds"
)

// defaultSeeds is how many seeds go test runs: about 30 s of wall time under -race on two cores.
const defaultSeeds = 30

// TestSim runs the simulation over a range of seeds and asserts that none finds a violation. Each
// failing seed is printed with the command that replays it. See doc.go for the variables.
func TestSim(t *testing.T) {
	sum, failed := search(t, Options{}, nil)
	report(t, sum.String())
	if len(sum.First) > 0 {
		t.Logf("first seed to find each kind: %v; seeds that found it: %v; causes: %v", sum.First, sum.Found, sum.Causes)
	}
	for i, r := range failed {
		if i < 3 {
			t.Errorf("seed %d: %v\n%s\nreplay: %s", r.Seed, r.Violations, details(r), replay(r.Seed, "^TestSim$", ""))
		} else {
			t.Errorf("seed %d: %v; replay: %s", r.Seed, r.Violations, replay(r.Seed, "^TestSim$", ""))
		}
	}
}

// replay returns the command that runs seed again, under the -run pattern run.
func replay(seed uint64, run, tags string) string {
	return fmt.Sprintf("SNOWFALL_SIM_SEED=%d go test %s-run '%s' ./internal/testkit/sim -v", seed, tags, run)
}

// runSeed runs one seed in its own bubble, with the defects o puts back.
func runSeed(t *testing.T, seed uint64, o Options) *Result {
	var r *Result
	synctest.Test(t, func(*testing.T) { r = RunWith(seed, o) })
	return r
}

// search runs seeds as the environment says (SNOWFALL_SIM_SEED, _REPEAT, _FIRST, _SEEDS, _DURATION),
// with the defects o puts back, until stop, if not nil, returns true for a result. It returns the
// summary and the failing results.
func search(t *testing.T, o Options, stop func(*Result) bool) (Summary, []*Result) {
	t.Helper()
	plan := seeds.FromEnv(t, seeds.Vars{Seed: "SNOWFALL_SIM_SEED", First: "SNOWFALL_SIM_FIRST",
		Count: "SNOWFALL_SIM_SEEDS", Duration: "SNOWFALL_SIM_DURATION"}, defaultSeeds)
	if plan.One && os.Getenv("SNOWFALL_SIM_REPEAT") != "" {
		plan.Count = seeds.Uint(t, "SNOWFALL_SIM_REPEAT") // the same seed, again and again
	}
	repeat := plan.One
	var sum Summary
	var failed []*Result
	var same int
	var firstRun *Result
	began := time.Now()
	for i := uint64(0); plan.More(i); i++ {
		seed := plan.First + i
		if repeat {
			seed = plan.First
		}
		r := runSeed(t, seed, o)
		if repeat {
			if firstRun == nil {
				firstRun = r
			}
			if fmt.Sprint(r.Violations) == fmt.Sprint(firstRun.Violations) {
				same++
			}
			t.Logf("seed %d run %d: %d IDs, violations %v, faults %v", seed, i+1, r.IDs, r.Violations, r.Faults)
		}
		sum.Add(r)
		if r.Failed() {
			failed = append(failed, r)
		}
		if stop != nil && stop(r) {
			break
		}
	}
	sum.Elapsed = time.Since(began)
	if repeat && plan.Count > 1 {
		t.Logf("seed %d run %d times: %d found a violation, %d found the same kinds and counts as the first run",
			plan.First, plan.Count, len(failed), same)
	}
	return sum, failed
}

func details(r *Result) string {
	s := ""
	for _, v := range r.Reports {
		s += "  " + v.String() + "\n"
	}
	return s
}

// report logs a summary line, prints it, and appends it to $SNOWFALL_FLEET_SUMMARY, which
// .ci/run prints with the fleet fault suite's lines.
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
