package leasetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// BenchAcquire measures NewLeased and Close on a, a manifest with no other holder, and reports the
// latencies' p50 and p99. Every backend's BenchmarkAcquire runs it, so their figures compare.
func BenchAcquire(b *testing.B, a snowfall.Assigner) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		l, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Probe: time.Minute})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
	}
	ReportPercentiles(b, lat)
}

// BenchRenew measures one renewal of a held id of a, and reports the latencies' p50 and p99.
func BenchRenew(b *testing.B, a snowfall.Assigner) {
	ctx := context.Background()
	size := snowfall.PoolSize(snowfall.DefaultLayout())
	c, err := ClaimFirst(ctx, a, size, snowfall.ClaimRequest{Token: "bench", Lease: time.Minute, Now: time.Now(), Ahead: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if err := a.Renew(ctx, c.ID, "bench", time.Minute, time.Now().Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	ReportPercentiles(b, lat)
}

// ReportPercentiles reports the p50 and p99 of lat, in microseconds.
func ReportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds()), "p99-µs")
}

// Dropper is an assigner whose manifest a benchmark can delete and whose connections it can close.
type Dropper interface {
	snowfall.Assigner
	Drop(ctx context.Context) error
	Close() error
}

// BenchFill reports the seconds 2,048 concurrent acquirers take to fill the pool of a fresh
// manifest that open returns for each round; the manifest is dropped after the round.
func BenchFill(b *testing.B, open func(ctx context.Context) (Dropper, error)) {
	var total time.Duration
	ctx := context.Background()
	for b.Loop() {
		a, err := open(ctx)
		if err != nil {
			b.Fatal(err)
		}
		total += FillPool(b, a, 2048)
		if err := a.Drop(ctx); err != nil {
			b.Fatal(err)
		}
		a.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fill")
}
