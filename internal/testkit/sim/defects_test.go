//go:build simbugs

package sim

import (
	"testing"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// TestFindsKnownDefects proves that the simulation can see: for each known defect of issue 10 it
// puts the defect back through its simbug switch and searches seeds until a violation of the kind
// that defect causes turns up, within the same budget as TestSim (SNOWFALL_SIM_SEEDS and the other
// variables apply). Run it with: go test -tags simbugs -run TestFindsKnownDefects ./internal/testkit/sim -v
func TestFindsKnownDefects(t *testing.T) {
	for _, c := range []struct {
		name string
		on   *bool
		kind string
	}{
		{"CloseRace", &simbug.CloseRace, "after-release"}, // an in-flight Next issues above the mark Close released
		{"LowerMark", &simbug.LowerMark, "mark-lowered"},  // a late renewal lowers the stored mark
		{"FarMarkClaim", &simbug.FarMarkClaim, "stall"},   // a right clock stuck on an id whose mark is far ahead
	} {
		t.Run(c.name, func(t *testing.T) {
			*c.on = true
			defer func() { *c.on = false }()
			sum, failed := search(t, func(r *Result) bool { return r.Violations[c.kind] > 0 })
			report(t, sum.Line("sim with simbug."+c.name))
			for _, r := range failed {
				if r.Violations[c.kind] > 0 {
					t.Logf("simbug.%s: found %s at seed %d, after %d seeds (%v); replay: %s", c.name, c.kind,
						r.Seed, sum.Seeds, r.Violations, replay(r.Seed, "^TestFindsKnownDefects$/^"+c.name+"$", "-tags simbugs "))
					return
				}
			}
			t.Errorf("simbug.%s: no %s violation in %d seeds: the simulation no longer sees this defect", c.name, c.kind, sum.Seeds)
		})
	}
}
