package snowfall

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestFirstLastID: for seeded random IDs of every preset and a custom layout with 10 ms ticks, the
// ID lies in [FirstID(t), LastID(t)] of its own time t, above LastID of the tick before and below
// FirstID of the tick after, so BETWEEN FirstID(from) AND LastID(to) selects exactly the IDs made
// from from's tick to to's.
func TestFirstLastID(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 3))
	layouts := []Layout{must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))}
	for _, name := range PresetNames() {
		layouts = append(layouts, must(Preset(name)))
	}
	for _, l := range layouts {
		for range 1000 {
			id := ID(rng.Int64()) & l.MaxID()
			d := must(l.Decode(id))
			if d.Time.Before(l.Epoch().Add(l.Unit())) || !d.Time.Before(l.End().Add(-l.Unit())) {
				continue
			}
			at := d.Time.Add(time.Duration(rng.Int64N(int64(l.Unit())))) // anywhere in the tick
			lo, hi := must(l.FirstID(at)), must(l.LastID(at))
			if id < lo || id > hi {
				t.Fatalf("%s: ID %d (time %v) outside [FirstID, LastID] = [%d, %d] of %v", l.Name(), id, d.Time, lo, hi, at)
			}
			if before := must(l.LastID(at.Add(-l.Unit()))); before >= id || before+1 != lo {
				t.Fatalf("%s: LastID of the tick before = %d, FirstID = %d, ID %d", l.Name(), before, lo, id)
			}
			if after := must(l.FirstID(at.Add(l.Unit()))); after <= id || hi+1 != after {
				t.Fatalf("%s: FirstID of the tick after = %d, LastID = %d, ID %d", l.Name(), after, hi, id)
			}
		}
		if lo := must(l.FirstID(l.Epoch())); lo != 0 {
			t.Errorf("%s: FirstID(epoch) = %d, want 0", l.Name(), lo)
		}
		if hi := must(l.LastID(l.End().Add(-time.Nanosecond))); hi != l.MaxID() {
			t.Errorf("%s: LastID(end-1ns) = %d, want MaxID %d", l.Name(), hi, l.MaxID())
		}
		for _, bad := range []time.Time{l.Epoch().Add(-time.Nanosecond), l.End()} {
			if _, err := l.FirstID(bad); !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), "range [") {
				t.Errorf("%s: FirstID(%v) = %v, want ErrOutOfRange naming the range", l.Name(), bad, err)
			}
			if _, err := l.LastID(bad); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("%s: LastID(%v) = %v, want ErrOutOfRange", l.Name(), bad, err)
			}
		}
	}
}
