//go:build simbugs

package sim

import (
	"testing"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// TestFindsKnownDefects proves that the simulation can see: for each known defect it puts the
// defect back, through its simbug switch (issue 10) or at a seam of the simulation (Options: issue
// 18), and searches seeds until a violation of the kind that defect causes turns up, within the
// same budget as TestSim (SNOWFALL_SIM_SEEDS and the other variables apply). Run it with:
// go test -tags simbugs -run TestFindsKnownDefects ./internal/testkit/sim -v
func TestFindsKnownDefects(t *testing.T) {
	for _, c := range []struct {
		name  string
		on    *bool
		opts  Options
		kinds []string
	}{
		{"CloseRace", &simbug.CloseRace, Options{}, []string{"after-release"}}, // an in-flight Next issues above the mark Close released
		{"LowerMark", &simbug.LowerMark, Options{}, []string{"mark-lowered"}},  // a late renewal lowers the stored mark
		{"FarMarkClaim", &simbug.FarMarkClaim, Options{}, []string{"stall"}},   // a right clock stuck on an id whose mark is far ahead
		// A duplicated claim applied to the row as it then is revives an old tenure, whose holder
		// can then renew and issue the IDs of the tenures between again.
		{"UnconditionedReplays", nil, Options{UnconditionedReplays: true}, []string{"revived"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.on != nil {
				*c.on = true
				defer func() { *c.on = false }()
			}
			found := func(r *Result) bool {
				for _, k := range c.kinds {
					if r.Violations[k] > 0 {
						return true
					}
				}
				return false
			}
			sum, failed := search(t, c.opts, found)
			name := "sim with " + c.name
			if c.on != nil {
				name = "sim with simbug." + c.name
			}
			report(t, sum.Line(name))
			for _, r := range failed {
				if found(r) {
					t.Logf("%s: found %v at seed %d, after %d seeds (%v); replay: %s", c.name, c.kinds,
						r.Seed, sum.Seeds, r.Violations, replay(r.Seed, "^TestFindsKnownDefects$/^"+c.name+"$", "-tags simbugs "))
					return
				}
			}
			t.Errorf("%s: no %v violation in %d seeds: the simulation no longer sees this defect", c.name, c.kinds, sum.Seeds)
		})
	}
}
