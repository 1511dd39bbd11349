// Command genbench measures one generator's throughput against its layout's limit and the cost of
// an ID when the sequence is not the bottleneck, next to a mutex-based generator, and prints a table.
// Run it through bench/generator.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/mutexgen"
)

func main() {
	dur := flag.Duration("d", 2*time.Second, "how long each row runs (at least 2s for the limit rows)")
	flag.Parse()
	if *dur <= 0 || *dur > time.Minute {
		fmt.Fprintf(os.Stderr, "genbench: -d %v out of range (0, 1m]\n", *dur)
		os.Exit(2)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "layout snowfall (12-bit sequence)\tgoroutines\tIDs/s\tlimit IDs/s\tratio\t")
	for _, n := range []int{1, 2, 8} {
		g, err := snowfall.New(snowfall.Settings{})
		check(err)
		ids := run(n, *dur, func() { _, err := g.Next(); check(err) })
		rate := float64(ids) / dur.Seconds()
		fmt.Fprintf(w, "Next\t%d\t%.0f\t%.0f\t%.3f\t\n", n, rate, g.Layout().Limit(), rate/g.Layout().Limit())
	}
	w.Flush()
	fmt.Println()

	// The cost of a spread at full load: twitter with and without spread=64, row by row.
	fmt.Fprintln(w, "layout twitter (12-bit sequence)\tgoroutines\tIDs/s\tlimit IDs/s\tratio\t")
	for _, n := range []int{1, 8} {
		for _, spec := range []string{"twitter", "twitter,spread=64"} {
			l, err := snowfall.ParseLayout(spec)
			check(err)
			g, err := snowfall.New(snowfall.Settings{Layout: l})
			check(err)
			ids := run(n, *dur, func() { _, err := g.Next(); check(err) })
			rate := float64(ids) / dur.Seconds()
			fmt.Fprintf(w, "Next %s\t%d\t%.0f\t%.0f\t%.3f\t\n", spec, n, rate, l.Limit(), rate/l.Limit())
		}
	}
	w.Flush()
	fmt.Println()

	l, err := snowfall.ParseLayout("time=41,seq=21,gen=1")
	check(err)
	fmt.Fprintln(w, "uncapped (21-bit sequence)\tgoroutines\tns/ID lock-free\tns/ID mutex\tlock-free ÷ mutex\t")
	for _, n := range []int{1, 2} {
		g, err := snowfall.New(snowfall.Settings{Layout: l})
		check(err)
		free := run(n, *dur/2, func() { _, err := g.Next(); check(err) })
		m := mutexgen.New(21, 1, 0, l.Epoch())
		locked := run(n, *dur/2, func() { m.Next() })
		nsFree := float64(*dur/2) / float64(free)
		nsLocked := float64(*dur/2) / float64(locked)
		fmt.Fprintf(w, "Next\t%d\t%.1f\t%.1f\t%.2f\t\n", n, nsFree, nsLocked, nsFree/nsLocked)
	}
	g, err := snowfall.New(snowfall.Settings{Layout: l})
	check(err)
	batch := make([]snowfall.ID, 256)
	ctx := context.Background()
	calls := run(1, *dur/2, func() { _, err := g.Fill(ctx, batch); check(err) })
	fmt.Fprintf(w, "Fill, batches of 256\t1\t%.1f\t\t\t\n", float64(*dur/2)/float64(calls*int64(len(batch))))
	base := time.Now()
	reads := run(1, *dur/4, func() { _ = time.Since(base) })
	fmt.Fprintf(w, "(one monotonic clock read)\t1\t%.1f\t\t\t\n", float64(*dur/4)/float64(reads))
	// The floor of any design in which each ID's goroutine writes shared state: a clock read and
	// one atomic swap of a shared word, from two goroutines. On a machine whose cores are far
	// apart the cache-line transfer this costs dominates the two-goroutine rows above.
	var shared struct {
		_ [64]byte
		v atomic.Int64
		_ [56]byte
	}
	swaps := run(2, *dur/4, func() { shared.v.Swap(int64(time.Since(base))) })
	fmt.Fprintf(w, "(clock read + atomic swap of one shared word)\t2\t%.1f\t\t\t\n", float64(*dur/4)/float64(swaps))
	w.Flush()
}

// run calls f from n goroutines for d and returns how many calls completed.
func run(n int, d time.Duration, f func()) int64 {
	var total atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			var c int64
			for !stop.Load() {
				for range 64 {
					f()
				}
				c += 64
			}
			total.Add(c)
		})
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	return total.Load()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbench:", err)
		os.Exit(1)
	}
}
