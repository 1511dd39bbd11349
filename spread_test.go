package snowfall

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

// TestSpreadRollsAtAnyRate: under a spread of 64 the IDs of a generator take the values of id % 64
// in turn, whatever the rate: seeded runs issue a random number of IDs per tick (one, a few, a
// whole tick's, more than a tick holds), with random gaps between ticks and random batch sizes
// through Fill, and check that the k-th ID has id % 64 == (first + k) % 64, that IDs increase,
// and that Issued counts them.
func TestSpreadRollsAtAnyRate(t *testing.T) {
	l := must(ParseLayout("twitter,spread=64"))
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 22))
		clk := fakeclock.New(t0)
		g := newGen(t, Settings{Clock: clk, Layout: l, Node: Node{DC: 3, Worker: 9}})
		var all []ID
		for range 300 {
			want := []int{1, 1, 1, 2, 3, 17, 4096, 5000}[rng.IntN(8)]
			for got := 0; got < want; {
				k := min(want-got, 1+rng.IntN(300))
				ids := make([]ID, k)
				if k == 1 {
					id, err := g.Next()
					if err != nil {
						t.Fatal(err)
					}
					ids[0] = id
				} else if _, err := g.Fill(context.Background(), ids); err != nil {
					t.Fatal(err)
				}
				all = append(all, ids...)
				got += k
			}
			clk.Add(time.Duration(1+rng.IntN(5)) * time.Millisecond)
		}
		for k, id := range all {
			if k > 0 && id <= all[k-1] {
				t.Fatalf("seed %d: ID %d after %d", seed, id, all[k-1])
			}
			if got, want := int64(id)%64, (int64(all[0])+int64(k))%64; got != want {
				t.Fatalf("seed %d: ID #%d %% 64 = %d, want %d: the sequence does not roll on", seed, k, got, want)
			}
		}
		if got := g.Stats().Issued; got != uint64(len(all)) {
			t.Fatalf("seed %d: Issued = %d, want %d", seed, got, len(all))
		}
	}
}

// TestSpreadConcurrent: goroutines racing on one spread generator issue unique, increasing IDs,
// at most PerTick in a tick, and id % 64 as even as a count allows (the counts differ by at most
// one), since every ID continues the one rolling sequence.
func TestSpreadConcurrent(t *testing.T) {
	const workers, per = 4, 50_000
	g := newGen(t, Settings{Layout: must(ParseLayout("twitter,spread=64"))})
	all := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for range per {
				id, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				all[w] = append(all[w], id)
			}
		})
	}
	wg.Wait()
	seen := map[ID]bool{}
	perTick := map[int64]int{}
	var byMod [64]int
	for w, ids := range all {
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("goroutine %d: ID %d after %d", w, id, ids[i-1])
			}
			if seen[id] {
				t.Fatalf("duplicate ID %d", id)
			}
			seen[id] = true
			perTick[int64(id)>>22]++
			byMod[id%64]++
		}
	}
	for tick, n := range perTick {
		if n > 4096 {
			t.Fatalf("tick %d has %d IDs", tick, n)
		}
	}
	lo, hi := byMod[0], byMod[0]
	for _, n := range byMod {
		lo, hi = min(lo, n), max(hi, n)
	}
	if hi-lo > 1 {
		t.Errorf("id %% 64 counts range over [%d, %d], want at most one apart", lo, hi)
	}
	if got := g.Stats().Issued; got != workers*per {
		t.Errorf("Issued = %d, want %d", got, workers*per)
	}
}

// TestSpreadFullTicksStartAtZero: at full load a tick that follows a full tick starts at sequence 0,
// so a spread costs nothing there; the first tick of a burst starts where the last ID left off.
func TestSpreadFullTicksStartAtZero(t *testing.T) {
	clk := fakeclock.New(t0)
	l := must(ParseLayout("time=41,dc=5,worker=5,seq=12,spread=4096"))
	g := newGen(t, Settings{Clock: clk, Layout: l})
	for range 3 { // a few IDs at low rate: the roll moves to 3
		if _, err := g.Next(); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Millisecond)
	}
	ids := make([]ID, 3*4096)
	if _, err := g.Fill(context.Background(), ids); err != nil { // waits on the fake clock
		t.Fatal(err)
	}
	perTick := map[int64]int{}
	first := map[int64]int64{}
	for _, id := range ids {
		tick := int64(id) >> 22
		if _, ok := first[tick]; !ok {
			first[tick] = int64(id) & 4095
		}
		perTick[tick]++
	}
	ticks := []int64{}
	for tick := range perTick {
		ticks = append(ticks, tick)
	}
	if len(ticks) != 4 {
		t.Fatalf("3 × 4096 IDs took %d ticks, want 4 (a partial first tick, two full ones, the rest)", len(ticks))
	}
	base := int64(ids[0]) >> 22
	if first[base] != 3 || perTick[base] != 4096-3 {
		t.Errorf("burst's first tick starts at %d with %d IDs, want 3 and %d", first[base], perTick[base], 4096-3)
	}
	for _, tick := range []int64{base + 1, base + 2} {
		if first[tick] != 0 || perTick[tick] != 4096 {
			t.Errorf("tick %d after a full tick starts at %d with %d IDs, want 0 and 4096", tick-base, first[tick], perTick[tick])
		}
	}
}
