package snowfall_test

import (
	"errors"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestReady checks that Ready answers what Next would, without issuing.
func TestReady(t *testing.T) {
	ranOut, err := snowfall.DefaultLayout().WithEpoch(time.UnixMilli(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		s    snowfall.Settings
		prep func(g *snowfall.Generator)
		want error
	}{
		{"fresh", snowfall.Settings{}, nil, nil},
		{"mark ahead within MaxBackwards", snowfall.Settings{After: time.Now().Add(300 * time.Millisecond)}, nil, nil},
		{"mark an hour ahead", snowfall.Settings{After: time.Now().Add(time.Hour)}, nil, snowfall.ErrClockBackwards},
		{"layout ran out", snowfall.Settings{Layout: ranOut}, nil, snowfall.ErrTimeOverflow},
		{"revoked", snowfall.Settings{}, func(g *snowfall.Generator) { g.Revoke(nil) }, snowfall.ErrFenced},
		{"permit below the clock", snowfall.Settings{}, func(g *snowfall.Generator) {
			g.Grant(snowfall.Permit{Until: time.Now().Add(-time.Hour)})
		}, snowfall.ErrFenced},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := snowfall.New(c.s)
			if err != nil {
				t.Fatal(err)
			}
			if c.prep != nil {
				c.prep(g)
			}
			got := g.Ready()
			if (c.want == nil) != (got == nil) || (c.want != nil && !errors.Is(got, c.want)) {
				t.Fatalf("Ready() = %v, want %v", got, c.want)
			}
			if n := g.Stats().Issued; n != 0 {
				t.Errorf("Ready issued %d IDs", n)
			}
			if c.want == nil {
				if _, err := g.Next(); err != nil {
					t.Errorf("Ready said yes, Next: %v", err)
				}
				return
			}
			if _, err := g.TryNext(); !errors.Is(err, c.want) {
				t.Errorf("Ready said %v, TryNext %v", got, err)
			}
		})
	}
}
