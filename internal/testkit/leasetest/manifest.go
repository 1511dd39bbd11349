package leasetest

import (
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// ManifestRounds is how many races testManifestRace runs on each backend unless
// SNOWFALL_MANIFEST_ROUNDS says otherwise; SNOWFALL_MANIFEST_SEED replays one seed.
const ManifestRounds = 30

// testManifestRace (issue 18, defect 7): first users with different configurations race to create
// a new manifest; whoever wins, the stored properties are exactly one starter's set, and every
// starter is told that set. Each round draws the number of starters (2 to 5) and their sets from a
// seeded stream, so a failure names the seed that replays it.
func testManifestRace(t *testing.T, b Backend) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("SNOWFALL_MANIFEST_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("SNOWFALL_MANIFEST_SEED=%q: want an unsigned integer", v)
		}
		seed = s
	}
	rounds := ManifestRounds
	if v := os.Getenv("SNOWFALL_MANIFEST_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("SNOWFALL_MANIFEST_ROUNDS=%q: want a positive integer", v)
		}
		rounds = n
	}
	r := rand.New(rand.NewPCG(seed, 0x6d616e6966657374))
	mixed := 0
	for round := range rounds {
		sets := propertySets(r)
		// A subtest per round, so that the round's manifest is dropped and its connections closed
		// when the round ends.
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			a := b.New(t)
			got := make([]map[string]string, len(sets))
			errs := make([]error, len(sets))
			var ready, wg sync.WaitGroup
			ready.Add(1)
			for i, s := range sets {
				wg.Go(func() {
					ready.Wait()
					got[i], errs[i] = a.Properties(t.Context(), s)
				})
			}
			ready.Done()
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("seed %d round %d: starter %d: Properties: %v", seed, round, i, err)
				}
			}
			stored, err := a.Properties(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(sets, func(s map[string]string) bool { return maps.Equal(stored, s) }) {
				mixed++
				t.Errorf("seed %d round %d: the manifest mixes the starters' properties: stored %v, starters %v", seed, round, stored, sets)
			}
			for i := range sets {
				if !maps.Equal(got[i], stored) {
					t.Errorf("seed %d round %d: starter %d was told %v, but the manifest holds %v", seed, round, i, got[i], stored)
				}
			}
		})
	}
	if mixed > 0 {
		t.Errorf("%d of %d races left a mixed manifest; replay with SNOWFALL_MANIFEST_SEED=%d", mixed, rounds, seed)
	}
}

// propertySets returns 2 to 5 property sets that differ from each other in every property.
func propertySets(r *rand.Rand) []map[string]string {
	n := 2 + r.IntN(4)
	layouts := []string{"time=41,seq=12,gen=10", "time=40,seq=12,gen=11", "time=41,dc=5,worker=5,seq=12",
		"time=41,dc=4,worker=8,seq=10", "time=42,seq=11,gen=10", "time=39,seq=14,gen=10"}
	r.Shuffle(len(layouts), func(i, j int) { layouts[i], layouts[j] = layouts[j], layouts[i] })
	epoch := 1_500_000_000_000 + r.Int64N(1e11)
	probe := 1000 + r.Int64N(9000)
	sets := make([]map[string]string, n)
	for i := range sets {
		sets[i] = map[string]string{
			snowfall.PropEpochMs: strconv.FormatInt(epoch+int64(i), 10),
			snowfall.PropLayout:  layouts[i],
			snowfall.PropProbeMs: strconv.FormatInt(probe+int64(i), 10),
		}
	}
	return sets
}

// testManifestAddsNewProperty: a property a newer version adds to an existing manifest is stored
// once, and the properties already stored keep their values.
func testManifestAddsNewProperty(t *testing.T, b Backend) {
	a := b.New(t)
	ctx := t.Context()
	old := map[string]string{snowfall.PropEpochMs: "1577836800000", snowfall.PropLayout: "time=40,seq=12,gen=11"}
	if _, err := a.Properties(ctx, old); err != nil {
		t.Fatal(err)
	}
	newer := []map[string]string{
		{snowfall.PropEpochMs: "1", snowfall.PropLayout: "time=41,seq=12,gen=10", snowfall.PropProbeMs: "2000", "new_prop": "a"},
		{snowfall.PropEpochMs: "2", snowfall.PropLayout: "time=41,seq=11,gen=11", snowfall.PropProbeMs: "3000", "new_prop": "b"},
	}
	got := make([]map[string]string, len(newer))
	errs := make([]error, len(newer))
	var wg sync.WaitGroup
	for i, s := range newer {
		wg.Go(func() { got[i], errs[i] = a.Properties(ctx, s) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("starter %d: %v", i, err)
		}
	}
	stored, err := a.Properties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range old {
		if stored[k] != v {
			t.Errorf("property %s: got %q, want the one stored first, %q", k, stored[k], v)
		}
	}
	one := func(k string) {
		if stored[k] != newer[0][k] && stored[k] != newer[1][k] {
			t.Errorf("property %s: got %q, want one starter's (%q or %q)", k, stored[k], newer[0][k], newer[1][k])
		}
	}
	one(snowfall.PropProbeMs)
	one("new_prop")
	if len(stored) != 4 {
		t.Errorf("stored %v, want 4 properties", stored)
	}
	for i := range got {
		if !maps.Equal(got[i], stored) {
			t.Errorf("starter %d was told %v, the manifest holds %v", i, got[i], stored)
		}
	}
}
