package etcdassign_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/leasetest"
)

// The benchmarks have the shape of sqlassign's, so that one run of
//
//	go test -run '^$' -bench 'Acquire|Renew|Fill' ./sqlassign ./etcdassign
//
// puts etcd next to PostgreSQL.

// BenchmarkFillEtcd reports the seconds 2,048 concurrent acquirers take to fill the pool on etcd,
// each round in a new group.
func BenchmarkFillEtcd(b *testing.B) {
	var total time.Duration
	ctx := context.Background()
	for b.Loop() {
		a, err := etcdassign.Open(ctx, etcdURL(), etcdassign.Options{Group: group()})
		if err != nil {
			b.Fatal(err)
		}
		total += leasetest.FillPool(b, a, 2048)
		if err := a.Drop(ctx); err != nil {
			b.Fatal(err)
		}
		a.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/fill")
}

// BenchmarkAcquire measures NewLeased and Close on a manifest with no other holder.
func BenchmarkAcquire(b *testing.B) {
	b.Run("etcd", func(b *testing.B) {
		a := open(b, etcdURL(), group())
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
		reportPercentiles(b, lat)
	})
}

// BenchmarkRenew measures one renewal of a held id.
func BenchmarkRenew(b *testing.B) {
	b.Run("etcd", func(b *testing.B) {
		a := open(b, etcdURL(), group())
		ctx := context.Background()
		size := snowfall.PoolSize(snowfall.DefaultLayout())
		c, err := a.Claim(ctx, snowfall.ClaimRequest{Size: size, Token: "bench", Lease: time.Minute, Now: time.Now(), Ahead: time.Minute})
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
		reportPercentiles(b, lat)
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	b.ReportMetric(float64(s[len(s)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(s[len(s)*99/100].Microseconds()), "p99-µs")
}
