package snowfall

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

func TestParseFloor(t *testing.T) {
	def := DefaultLayout()
	js := must(Preset(PresetJS))
	id := must(def.Compose(def.Ticks(t0), 5, Node{Generator: 7}))
	tests := []struct {
		name string
		l    Layout
		in   string
		want time.Time // zero: an error
		err  error
		msg  string
	}{
		{"decimal ID", def, id.String(), t0, nil, ""},
		{"base32 ID", def, "base32:" + id.Base32(), t0, nil, ""},
		{"base58 ID", def, "base58:" + id.Base58(), t0, nil, ""},
		{"time", def, "2026-01-01T12:00:00.0005Z", t0.Add(500 * time.Microsecond), nil, ""},
		{"time with offset", def, "2026-01-01T13:00:00+01:00", t0, nil, ""},
		{"not an ID", def, "12x", time.Time{}, ErrInvalidID, `"12x"`},
		{"not a time", def, "2026-13-01T00:00:00Z", time.Time{}, ErrInvalidID, "neither an ID nor an RFC 3339 time"},
		{"negative", def, "-5", time.Time{}, ErrInvalidID, "neither"},
		{"above js", js, (js.MaxID() + 1).String(), time.Time{}, ErrInvalidID, "range [0, 9007199254740991]"},
		{"before the epoch", def, "2019-12-31T23:59:59Z", time.Time{}, ErrOutOfRange, "range [2020-01-01T00:00:00.000Z, 2054-11-03"},
		{"past the end", def, "2060-01-01T00:00:00Z", time.Time{}, ErrOutOfRange, "outside layout snowfall's range"},
		{"empty", def, "", time.Time{}, ErrInvalidID, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFloor(tt.l, tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("ParseFloor(%q) = %v, %v; want %v mentioning %q", tt.in, got, err, tt.err, tt.msg)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("ParseFloor(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestFloorKeepsAboveOldIDs: for seeded random IDs of every preset, a generator (any node value)
// given ParseFloor of the ID issues only IDs above it, on a clock anywhere from a second behind
// the ID's time on: it waits for its clock or issues later ticks, never at or below the floor.
func TestFloorKeepsAboveOldIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 1))
	for _, name := range PresetNames() {
		l := must(Preset(name))
		for range 200 {
			tick := l.Ticks(t0) + rng.Int64N(int64(time.Hour/l.Unit()))
			old := must(l.Compose(tick, rng.Int64N(l.PerTick()), NodeOf(l, rng.Int64N(PoolSize(l)))))
			after, err := ParseFloor(l, old.String())
			if err != nil {
				t.Fatal(err)
			}
			clk := fakeclock.New(l.TickTime(tick).Add(time.Duration(rng.Int64N(int64(2*time.Second))) - time.Second))
			g := newGen(t, Settings{Layout: l, Clock: clk, Node: NodeOf(l, rng.Int64N(PoolSize(l))), After: after})
			for range 3 {
				id, err := g.Next()
				if err != nil {
					t.Fatalf("%s: floor %d: %v", name, old, err)
				}
				if id <= old {
					t.Fatalf("%s: floor %d (from ParseFloor), clock %v: issued %d", name, old, clk.Now(), id)
				}
			}
		}
	}
}

// TestCheckFloorAgreesWithReady: CheckFloor refuses exactly the floors a fresh generator's Ready
// reports as ClockBackwardsError, over seeded floors around the clock and MaxBackwards values.
func TestCheckFloorAgreesWithReady(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 2))
	for _, l := range []Layout{DefaultLayout(), must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))} {
		for range 2000 {
			maxBack := []time.Duration{0, -1, 50 * time.Millisecond, time.Second}[rng.IntN(4)]
			now := t0.Add(time.Duration(rng.Int64N(int64(time.Second))))
			after := now.Add(time.Duration(rng.Int64N(int64(3*time.Second))) - time.Second)
			g := newGen(t, Settings{Layout: l, Clock: fakeclock.New(now), MaxBackwards: maxBack, After: after})
			ready := g.Ready()
			check := CheckFloor(l, after, now, maxBack)
			if errors.Is(ready, ErrClockBackwards) != (check != nil) || (check != nil && !errors.Is(check, ErrClockBackwards)) {
				t.Fatalf("floor %v ahead of the clock, MaxBackwards %v, unit %v: Ready = %v, CheckFloor = %v",
					after.Sub(now), maxBack, l.Unit(), ready, check)
			}
		}
	}
}

func FuzzParseFloor(f *testing.F) {
	for _, s := range []string{"1825382944768786432", "base32:1KNE2K8N00001", "base58:2kJ4H9Bz7Yq", "2026-01-01T12:00:00Z",
		"2026-01-01T13:00:00+01:00", "12x", "", "-5", "2019-12-31T23:59:59Z", "decimal:7", "9007199254740992"} {
		f.Add(s)
	}
	layouts := []Layout{DefaultLayout(), must(Preset(PresetJS)), must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range layouts {
			after, err := ParseFloor(l, s)
			if err != nil {
				if !errors.Is(err, ErrInvalidID) && !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("ParseFloor(%q): error %v wraps neither ErrInvalidID nor ErrOutOfRange", s, err)
				}
				continue
			}
			if after.Before(l.Epoch()) || !after.Before(l.End()) {
				t.Fatalf("ParseFloor(%q) = %v, outside [%v, %v)", s, after, l.Epoch(), l.End())
			}
			if id, err := ParseAny(s); err == nil {
				// Every ID of a later tick than the floor's is above the ID.
				if l.Ticks(after)+1 > l.Max(FieldTime) {
					continue
				}
				if next := must(l.FirstID(l.TickTime(l.Ticks(after) + 1))); next <= id {
					t.Fatalf("ParseFloor(%q): the first ID after the floor, %d, is not above %d", s, next, id)
				}
			}
		}
	})
}
