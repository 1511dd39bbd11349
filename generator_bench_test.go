package snowfall

import (
	"context"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/mutexgen"
)

// Benchmarks at the default layout's limit report ×limit: IDs per second over the layout's 4,096,000.
// The Uncapped ones use a 21-bit sequence, so the clock and the compare-and-swap are the cost.

func benchNext(b *testing.B, g *Generator) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Next(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchNextParallel(b *testing.B, g *Generator) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := g.Next(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func reportLimit(b *testing.B, l Layout, ids int) {
	b.ReportMetric(float64(ids)/b.Elapsed().Seconds()/l.Limit(), "×limit")
}

func BenchmarkNext(b *testing.B) {
	g, _ := New(Settings{})
	benchNext(b, g)
	reportLimit(b, g.Layout(), b.N)
}

func BenchmarkNextParallel(b *testing.B) {
	g, _ := New(Settings{})
	benchNextParallel(b, g)
	reportLimit(b, g.Layout(), b.N)
}

func BenchmarkFill4096(b *testing.B) {
	g, _ := New(Settings{})
	ids := make([]ID, 4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Fill(context.Background(), ids); err != nil {
			b.Fatal(err)
		}
	}
	reportLimit(b, g.Layout(), b.N*len(ids))
}

func uncapped(b *testing.B) *Generator {
	l, err := ParseLayout("time=41,seq=21,gen=1")
	if err != nil {
		b.Fatal(err)
	}
	g, err := New(Settings{Layout: l})
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func BenchmarkNextUncapped(b *testing.B)         { benchNext(b, uncapped(b)) }
func BenchmarkNextUncappedParallel(b *testing.B) { benchNextParallel(b, uncapped(b)) }

func BenchmarkMutexUncapped(b *testing.B) {
	g := mutexgen.New(21, 1, 0, DefaultLayout().Epoch())
	for b.Loop() {
		g.Next()
	}
}

func BenchmarkMutexUncappedParallel(b *testing.B) {
	g := mutexgen.New(21, 1, 0, DefaultLayout().Epoch())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Next()
		}
	})
}

// BenchmarkNextUncappedPermit is NextUncapped with a permit whose length is checked on every call,
// as a Leased generator's is.
func BenchmarkNextUncappedPermit(b *testing.B) {
	g := uncapped(b)
	g.Grant(Permit{Start: g.Stamp(), Valid: time.Hour})
	benchNext(b, g)
}

// BenchmarkNextSpread is BenchmarkNext under twitter with spread=64, against twitter without: the
// cost of a spread at full load.
func BenchmarkNextSpread(b *testing.B) {
	for _, spec := range []string{"twitter", "twitter,spread=64"} {
		b.Run(spec, func(b *testing.B) {
			l, err := ParseLayout(spec)
			if err != nil {
				b.Fatal(err)
			}
			g, _ := New(Settings{Layout: l})
			benchNext(b, g)
			reportLimit(b, l, b.N)
		})
	}
}

// BenchmarkNextPermit is BenchmarkNext with a permit whose length is checked on every call (a
// fresh reading of both clocks per ID), as a Leased generator's is: it still runs at the limit.
func BenchmarkNextPermit(b *testing.B) {
	g, _ := New(Settings{})
	g.Grant(Permit{Start: g.Stamp(), Valid: time.Hour})
	benchNext(b, g)
	reportLimit(b, g.Layout(), b.N)
}
