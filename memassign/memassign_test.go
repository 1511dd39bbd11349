package memassign_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/memassign"
)

func TestSuite(t *testing.T) {
	leasetest.Run(t, leasetest.Backend{
		New: func(t *testing.T) snowfall.Assigner { return memassign.New(nil) },
		Faulty: func(t *testing.T) (snowfall.Assigner, func(), func()) {
			a := memassign.New(nil)
			return a, func() { a.Fail(errors.New("store unreachable")) }, func() { a.Fail(nil) }
		},
	})
}

func BenchmarkAcquire(b *testing.B) {
	a := memassign.New(nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		l, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Probe: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}

func BenchmarkLeasedNext(b *testing.B) {
	l, err := snowfall.NewLeased(context.Background(), memassign.New(nil), snowfall.LeaseSettings{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Next(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
