package snowfall

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

func TestPresets(t *testing.T) {
	tests := []struct {
		name              string
		spec              string
		epochMs           int64
		perTick           int64
		maxGen, maxDC, mW int64
	}{
		{PresetSnowfall, "time=40,seq=12,gen=11", EpochSnowfall, 4096, 2047, -1, -1},
		{PresetPysnowflake, "time=41,dc=4,worker=8,seq=10", EpochPysnowflake, 1024, -1, 15, 255},
		{PresetPysnowflakeLegacy, "time=41,dc=2,worker=8,seq=12", EpochPysnowflake, 4096, -1, 3, 255},
		{PresetTwitter, "time=41,dc=5,worker=5,seq=12", EpochTwitter, 4096, -1, 31, 31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ParseLayout(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if l.Spec() != tt.spec || l.EpochMs() != tt.epochMs || l.PerTick() != tt.perTick {
				t.Errorf("got spec %s epoch %d per tick %d, want %s %d %d", l.Spec(), l.EpochMs(), l.PerTick(), tt.spec, tt.epochMs, tt.perTick)
			}
			if l.Max(FieldGenerator) != tt.maxGen || l.Max(FieldDC) != tt.maxDC || l.Max(FieldWorker) != tt.mW {
				t.Errorf("got max gen/dc/worker %d/%d/%d", l.Max(FieldGenerator), l.Max(FieldDC), l.Max(FieldWorker))
			}
			same, err := ParseLayout(l.Spec())
			if err != nil {
				t.Fatal(err)
			}
			if same.Spec() != l.Spec() {
				t.Errorf("ParseLayout(Spec()) = %s, want %s", same.Spec(), l.Spec())
			}
		})
	}
}

func TestSnowfallLifetime(t *testing.T) {
	l := DefaultLayout()
	if got, want := l.Lifetime(), time.Duration(1<<40)*time.Millisecond; got != want {
		t.Fatalf("Lifetime = %v, want %v", got, want)
	}
	// 2^40 ms is about 34.8 years: the default layout runs out in 2054.
	if got := l.End().Year(); got != 2054 {
		t.Errorf("End = %v, want a day in 2054", l.End())
	}
	if got := l.Limit(); got != 4_096_000 {
		t.Errorf("Limit = %v IDs/s, want 4096000", got)
	}
}

func TestZeroLayoutIsDefault(t *testing.T) {
	var l Layout
	if l.Spec() != DefaultLayout().Spec() || l.Name() != PresetSnowfall {
		t.Errorf("zero layout = %s %s, want the default", l.Name(), l.Spec())
	}
}

// The example ID from pysnowflake's documentation.
func TestPysnowflakeDocumentedID(t *testing.T) {
	l, _ := Preset(PresetPysnowflake)
	p, err := l.Decode(3631957913783762945)
	if err != nil {
		t.Fatal(err)
	}
	if p.UnixMilli() != 1416207845161 || p.DC != 0 || p.Worker != 0 || p.Sequence != 1 {
		t.Errorf("got unix ms %d, dc %d, worker %d, seq %d; want 1416207845161, 0, 0, 1", p.UnixMilli(), p.DC, p.Worker, p.Sequence)
	}
}

// TestPresetsInSynctestBubble checks that presets and the default layout do not depend on the real
// time: a testing/synctest bubble's clock starts in 2000, before most presets' epochs. A generator
// checks the epoch against its own clock instead, and says so with an error, not a panic.
func TestPresetsInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, name := range PresetNames() {
			if _, err := Preset(name); err != nil {
				t.Errorf("Preset(%q) in a bubble: %v", name, err)
			}
		}
		if l, err := ParseLayout(""); err != nil || l != DefaultLayout() {
			t.Errorf(`ParseLayout("") in a bubble = %v, %v; want the default layout`, l, err)
		}
		_, err := New(Settings{Clock: ClockFunc(time.Now)})
		if !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), "after the clock's time") {
			t.Errorf("New with a clock before the epoch: got %v, want ErrInvalidLayout naming the clock's time", err)
		}
		custom := []Field{{FieldTime, 41}, {FieldSequence, 12}, {FieldGenerator, 10}}
		if _, err := NewLayout(custom, time.Now().Add(time.Hour), 0); !errors.Is(err, ErrInvalidLayout) {
			t.Errorf("NewLayout with an epoch an hour ahead: got %v, want ErrInvalidLayout", err)
		}
	})
}

// TestPresetNameFromFields: a layout built from a preset's fields, epoch and unit is that preset.
func TestPresetNameFromFields(t *testing.T) {
	for _, name := range PresetNames() {
		p, _ := Preset(name)
		parsed, err := ParseLayout(p.Spec())
		if err != nil {
			t.Fatal(err)
		}
		parsed, err = parsed.WithEpoch(p.Epoch())
		if err != nil {
			t.Fatal(err)
		}
		built, err := NewLayout(p.Fields(), p.Epoch(), p.Unit())
		if err != nil {
			t.Fatal(err)
		}
		for how, l := range map[string]Layout{"ParseLayout+WithEpoch": parsed, "NewLayout": built} {
			if got := l.Name(); got != name {
				t.Errorf("%s of %s: Name() = %q, want %q", how, name, got, name)
			}
		}
	}
	// Another epoch or unit makes a custom layout.
	p := DefaultLayout()
	for _, c := range []struct {
		epoch time.Time
		unit  time.Duration
	}{{p.Epoch().Add(time.Hour), 0}, {p.Epoch(), 2 * time.Millisecond}} {
		l, err := NewLayout(p.Fields(), c.epoch, c.unit)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Name(); got != "custom" {
			t.Errorf("NewLayout(snowfall fields, %v, %v).Name() = %q, want custom", c.epoch, c.unit, got)
		}
	}
}

// TestJSPresetStaysBelow2p53: every ID the js preset can ever issue is below 2^53, so a JavaScript
// number (an IEEE double) holds it exactly: the largest ID of the layout, and the IDs a generator
// with the largest node value issues in the layout's last tick, before it refuses the next.
func TestJSPresetStaysBelow2p53(t *testing.T) {
	l := must(Preset(PresetJS))
	if l.Width() != JSWidth || l.MaxID() != 1<<53-1 {
		t.Fatalf("js: width %d, largest ID %d; want 53 and 2^53-1", l.Width(), l.MaxID())
	}
	maxID, err := l.Compose(l.Max(FieldTime), l.Max(FieldSequence), Node{Generator: l.Max(FieldGenerator)})
	if err != nil || maxID != l.MaxID() {
		t.Fatalf("Compose of every field at its largest = %d, %v; want MaxID %d", maxID, err, l.MaxID())
	}
	last := l.End().Add(-l.Unit())
	clk := fakeclock.New(last)
	g, err := New(Settings{Layout: l, Clock: clk, Node: Node{Generator: l.Max(FieldGenerator)}, After: last.Add(-time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	var top ID
	for range l.PerTick() {
		id, err := g.Next()
		if err != nil {
			t.Fatalf("in the last tick: %v", err)
		}
		top = id
		if id >= 1<<53 || ID(float64(id)) != id {
			t.Fatalf("ID %d is not below 2^53 or does not survive a float64", id)
		}
	}
	if top != l.MaxID() {
		t.Errorf("the last ID of the last tick = %d, want MaxID %d", top, l.MaxID())
	}
	if _, err := g.Next(); !errors.Is(err, ErrTimeOverflow) {
		t.Errorf("after the last tick: %v, want ErrTimeOverflow", err)
	}
	if _, err := l.Decode(l.MaxID() + 1); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Decode(MaxID+1) = %v, want ErrInvalidID", err)
	}
	// Honest figures: 128 IDs per ms per generator, 32 generators, 2^41 ms from 2020.
	if l.Limit() != 128_000 || PoolSize(l) != 32 || l.End().Format(time.DateOnly) != "2089-09-06" {
		t.Errorf("js: %v IDs/s, %d generators, runs out on %s", l.Limit(), PoolSize(l), l.End().Format(time.DateOnly))
	}
}
