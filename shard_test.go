package snowfall

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

// shardIDs is how many IDs TestShardBalance spreads: 100,000, as issue 22 measures.
const shardIDs = 100_000

// stepClock is a clock for one goroutine that stands still until the test moves it, or a wait for
// the next tick moves it (Sleeper): fakeclock's without its lock, since TestShardBalance reads it
// millions of times.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }

func (c *stepClock) Sleep(_ context.Context, d time.Duration) error {
	c.t = c.t.Add(d)
	return nil
}

// The rates of TestShardBalance.
const (
	rateLow    = "low"    // one ID per tick, in consecutive ticks: each request in its own tick
	rateRandom = "random" // one ID per request, requests 1 to 20 ticks apart at random (seeded)
	rateFull   = "full"   // as fast as the sequence allows
)

// balanceIDs issues shardIDs IDs from a generator of l on a fake clock at the rate: at the full
// rate through Fill, the clock moving only when a tick is used up.
func balanceIDs(t *testing.T, l Layout, rate string) []ID {
	t.Helper()
	clk := &stepClock{t: t0}
	node := Node{Generator: 5}
	if !l.Has(FieldGenerator) {
		node = Node{DC: 1, Worker: 7}
	}
	g := newGen(t, Settings{Layout: l, Clock: clk, Node: node})
	ids := make([]ID, shardIDs)
	rng := rand.New(rand.NewPCG(22, 8))
	if rate == rateFull {
		if _, err := g.Fill(context.Background(), ids); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	for i := range ids {
		id, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
		gap := time.Duration(1)
		if rate == rateRandom {
			gap += time.Duration(rng.IntN(20))
		}
		clk.t = clk.t.Add(gap * l.Unit())
	}
	return ids
}

// spreadRatio returns max/min of the shard counts (+Inf when a shard is empty) and how many shards
// hold an ID.
func spreadRatio(ids []ID, n int, shard func(ID) int) (ratio float64, used int) {
	counts := make([]int, n)
	for _, id := range ids {
		counts[shard(id)]++
	}
	lo, hi := counts[0], counts[0]
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
		if c > 0 {
			used++
		}
	}
	if lo == 0 {
		return math.Inf(1), used
	}
	return float64(hi) / float64(lo), used
}

// TestShardBalance measures how evenly 100,000 IDs fall into 8, 16 and 64 shards, for every preset,
// at three rates (one ID per tick; one per request at random times; full), by plain id % n (the
// before figures: no goal) and by the documented methods: Layout.Shard for every layout, and
// id % n under a spread of 64 for layouts whose lowest field is the sequence. The goal, checked,
// is max/min ≤ 1.1 at the low and the full rate. At random request times the ticks themselves are
// random, so no function of the ID beats a fair random assignment, whose max/min over 64 shards of
// 100,000 IDs is about 1.1 (it shrinks as one over the square root of the IDs per shard): there
// Shard is only checked against 1.25, while the spread's id % n, a round robin, stays within 1.1.
// It prints one line per case ("shards: layout=… rate=… method=… n=… max/min=… used=…", used
// counting the shards that got an ID) and appends them to $SNOWFALL_FLEET_SUMMARY when set.
func TestShardBalance(t *testing.T) {
	var lines []string
	for _, name := range PresetNames() {
		l := must(Preset(name))
		for _, rate := range []string{rateLow, rateRandom, rateFull} {
			type method struct {
				name  string
				ids   []ID
				shard func(ID, int) int
				goal  float64 // 0: none
			}
			plain := func(id ID, n int) int { return int(id % ID(n)) }
			ids := balanceIDs(t, l, rate)
			goal := 1.1
			if rate == rateRandom {
				goal = 1.25
			}
			methods := []method{
				{"id%n", ids, plain, 0},
				{"Shard", ids, func(id ID, n int) int { return must(l.Shard(id, n)) }, goal},
			}
			if l.shift(FieldSequence) == 0 {
				sl := must(l.WithSpread(64))
				methods = append(methods, method{"spread=64,id%n", balanceIDs(t, sl, rate), plain, 1.1})
			}
			for _, m := range methods {
				for _, n := range []int{8, 16, 64} {
					r, used := spreadRatio(m.ids, n, func(id ID) int { return m.shard(id, n) })
					line := fmt.Sprintf("shards: layout=%s rate=%s method=%s n=%d max/min=%.3f used=%d", name, rate, m.name, n, r, used)
					lines = append(lines, line)
					t.Log(line)
					if m.goal > 0 && r > m.goal {
						t.Errorf("%s: above the goal of %v", line, m.goal)
					}
				}
			}
		}
	}
	for _, line := range lines {
		fmt.Println(line)
	}
	if path := os.Getenv("SNOWFALL_FLEET_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatalf("SNOWFALL_FLEET_SUMMARY: %v", err)
		}
		defer f.Close()
		for _, line := range lines {
			fmt.Fprintln(f, line)
		}
	}
}

func TestShardErrors(t *testing.T) {
	l := DefaultLayout()
	for _, n := range []int{0, -1, MaxShards + 1} {
		var re *RangeError
		if _, err := l.Shard(1, n); !errors.As(err, &re) || !errors.Is(err, ErrOutOfRange) || re.Field != "shards" {
			t.Errorf("Shard(1, %d) = %v, want a RangeError for shards", n, err)
		}
	}
	if _, err := l.Shard(-1, 8); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Shard(-1, 8) = %v, want ErrInvalidID", err)
	}
	js := must(Preset(PresetJS))
	if _, err := js.Shard(js.MaxID()+1, 8); !errors.Is(err, ErrInvalidID) {
		t.Errorf("js: Shard(MaxID+1, 8) = %v, want ErrInvalidID", err)
	}
	for _, n := range []int{1, 7, 64, MaxShards} {
		for _, id := range []ID{0, 1, js.MaxID(), 1<<63 - 1} {
			if s, err := l.Shard(id, n); err != nil || s < 0 || s >= n {
				t.Errorf("Shard(%d, %d) = %d, %v; want a shard in [0, %d)", id, n, s, err, n)
			}
		}
	}
}
