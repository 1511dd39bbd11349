package etcdassign_test

import (
	"context"
	"testing"

	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
)

// The benchmarks have the shape of sqlassign's, so that one run of
//
//	go test -run '^$' -bench 'Acquire|Renew|Fill' ./sqlassign ./etcdassign
//
// puts etcd next to PostgreSQL.

// BenchmarkFillEtcd reports the seconds 2,048 concurrent acquirers take to fill the pool on etcd,
// each round in a new group.
func BenchmarkFillEtcd(b *testing.B) {
	leasetest.BenchFill(b, func(ctx context.Context) (leasetest.Dropper, error) {
		return etcdassign.Open(ctx, etcdURL(), etcdassign.Options{Group: group()})
	})
}

// BenchmarkAcquire measures NewLeased and Close on a manifest with no other holder.
func BenchmarkAcquire(b *testing.B) {
	b.Run("etcd", func(b *testing.B) { leasetest.BenchAcquire(b, open(b, etcdURL(), group())) })
}

// BenchmarkRenew measures one renewal of a held id.
func BenchmarkRenew(b *testing.B) {
	b.Run("etcd", func(b *testing.B) { leasetest.BenchRenew(b, open(b, etcdURL(), group())) })
}
