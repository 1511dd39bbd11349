package snowfall

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

func TestStats(t *testing.T) {
	clk := fakeclock.New(t0)
	l, _ := Preset(PresetTwitter)
	g := newGen(t, Settings{Clock: clk, Layout: l, Node: Node{DC: 3, Worker: 4}})
	st := g.Stats()
	if st.Issued != 0 || st.Sequence != 0 || st.LastTimestamp != EpochTwitter {
		t.Errorf("fresh stats = %+v", st)
	}
	for range 3 {
		g.Next()
	}
	st = g.Stats()
	want := Stats{Layout: "twitter", Spec: "time=41,dc=5,worker=5,seq=12", EpochMs: EpochTwitter, Node: Node{DC: 3, Worker: 4},
		Timestamp: t0.UnixMilli(), LastTimestamp: t0.UnixMilli(), Sequence: 2, Issued: 3}
	if st != want {
		t.Errorf("Stats = %+v\nwant %+v", st, want)
	}
}

func TestIssuedNeverGoesDown(t *testing.T) {
	l, _ := ParseLayout("time=50,seq=4,gen=9")
	g := newGen(t, Settings{Layout: l})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				g.NextContext(ctx)
			}
		})
	}
	var last uint64
	for ctx.Err() == nil {
		n := g.Stats().Issued
		if n < last {
			t.Fatalf("Issued went from %d down to %d", last, n)
		}
		last = n
	}
	wg.Wait()
}
