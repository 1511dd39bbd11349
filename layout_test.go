package snowfall

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"
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

func TestLayoutValidation(t *testing.T) {
	tests := []struct {
		spec string
		want string
	}{
		{"time=41,seq=12,gen=11", "sum to 64 bits"},
		{"time=40,seq=12,gen=10", "sum to 62 bits"},
		{"seq=12,time=40,gen=11", "must be time"},
		{"time=40,seq=12,gen=11,dc=0", "allowed [1, 62]"},
		{"time=40,seq=12,dc=11", "node fields"},
		{"time=40,seq=12,gen=5,worker=6", "node fields"},
		{"time=40,gen=23", "3 (time, seq, gen)"},
		{"time=40,seq=12,gen=11,seq=1", "appears twice"},
		{"time=40,seq=x,gen=11", "not a number"},
		{"time=40,bogus=12,gen=11", "unknown field"},
		{"time=40;seq=12", "not a number"},
		{"time40,seq=12", "not name=bits"},
		{"time=1,seq=31,gen=31", "seq has 31 bits"},
		{"time=40,seq=12,gen=11,unit=1us", "unit 1µs"},
		{"time=40,seq=12,gen=11,unit=1.5ms", "whole number"},
		{"time=40,seq=12,gen=11,unit=0ms", "unit 0s"},
		{"time=40,seq=12,gen=11,unit=0", "unit 0s"},
		{"nosuch", "unknown preset"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := ParseLayout(tt.spec)
			if !errors.Is(err, ErrInvalidLayout) {
				t.Fatalf("ParseLayout(%q) = %v, want ErrInvalidLayout", tt.spec, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestEpochValidation(t *testing.T) {
	l := DefaultLayout()
	if _, err := l.WithEpoch(time.Now().Add(time.Hour)); !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), "future") {
		t.Errorf("future epoch: %v", err)
	}
	if _, err := l.WithEpoch(time.UnixMilli(-1)); !errors.Is(err, ErrInvalidLayout) {
		t.Errorf("epoch before 1970: %v", err)
	}
	e := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l2, err := l.WithEpoch(e)
	if err != nil || !l2.Epoch().Equal(e) || l2.Name() != PresetSnowfall {
		t.Errorf("WithEpoch = %v, %v", l2, err)
	}
	if l2 == l {
		t.Error("layouts with other epochs compare equal")
	}
}

func TestNodeRange(t *testing.T) {
	tw, _ := Preset(PresetTwitter)
	tests := []struct {
		name string
		l    Layout
		n    Node
		want string
	}{
		{"generator too big", DefaultLayout(), Node{Generator: 2048}, "generator 2048 out of range [0, 2047]"},
		{"generator negative", DefaultLayout(), Node{Generator: -1}, "generator -1 out of range [0, 2047]"},
		{"dc too big", tw, Node{DC: 32}, "dc 32 out of range [0, 31]"},
		{"worker too big", tw, Node{Worker: 40}, "worker 40 out of range [0, 31]"},
		{"dc on a gen layout", DefaultLayout(), Node{DC: 1}, "has no dc field"},
		{"generator on a dc layout", tw, Node{Generator: 1}, "has no gen field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.CheckNode(tt.n)
			if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckNode(%+v) = %v, want %q", tt.n, err, tt.want)
			}
			if _, err := New(Settings{Layout: tt.l, Node: tt.n}); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("New = %v, want ErrOutOfRange", err)
			}
		})
	}
}

func TestComposeDecodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	custom, err := ParseLayout("time=39,seq=8,gen=16,unit=10ms")
	if err != nil {
		t.Fatal(err)
	}
	layouts := []Layout{custom}
	for _, name := range PresetNames() {
		l, _ := Preset(name)
		layouts = append(layouts, l)
	}
	for _, l := range layouts {
		t.Run(l.Name()+"/"+l.Spec(), func(t *testing.T) {
			for range 1000 {
				tick := r.Int64N(l.Max(FieldTime) + 1)
				seq := r.Int64N(l.PerTick())
				var n Node
				if l.Has(FieldGenerator) {
					n.Generator = r.Int64N(l.Max(FieldGenerator) + 1)
				} else {
					n.DC, n.Worker = r.Int64N(l.Max(FieldDC)+1), r.Int64N(l.Max(FieldWorker)+1)
				}
				id, err := l.Compose(tick, seq, n)
				if err != nil {
					t.Fatal(err)
				}
				p, err := l.Decode(id)
				if err != nil {
					t.Fatal(err)
				}
				if l.Ticks(p.Time) != tick || p.Sequence != seq || p.Node() != n || !p.Time.Equal(l.TickTime(tick)) {
					t.Fatalf("Decode(Compose(%d, %d, %+v)) = %+v", tick, seq, n, p)
				}
			}
		})
	}
}

func TestComposeRejects(t *testing.T) {
	l := DefaultLayout()
	if _, err := l.Compose(1<<40, 0, Node{}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("tick 2^40: %v", err)
	}
	if _, err := l.Compose(0, 4096, Node{}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("seq 4096: %v", err)
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

func TestTicks(t *testing.T) {
	l, _ := ParseLayout("time=39,seq=8,gen=16,unit=10ms")
	e := l.Epoch()
	for _, tt := range []struct {
		at   time.Time
		want int64
	}{
		{e, 0}, {e.Add(9 * time.Millisecond), 0}, {e.Add(10 * time.Millisecond), 1},
		{e.Add(-time.Millisecond), -1}, {e.Add(-10 * time.Millisecond), -1}, {e.Add(-11 * time.Millisecond), -2},
	} {
		if got := l.Ticks(tt.at); got != tt.want {
			t.Errorf("Ticks(epoch%+v) = %d, want %d", tt.at.Sub(e), got, tt.want)
		}
	}
}

func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{"snowfall", "twitter", "time=41,dc=5,worker=5,seq=12", "time=40,seq=12,gen=11,unit=10ms", "time=1,seq=1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLayout(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidLayout) {
				t.Fatalf("error %v does not wrap ErrInvalidLayout", err)
			}
			return
		}
		sum := 0
		for _, f := range l.Fields() {
			sum += f.Bits
		}
		if sum != 63 || l.Fields()[0].Kind != FieldTime {
			t.Fatalf("accepted %q with fields %v", s, l.Fields())
		}
		again, err := ParseLayout(l.Spec())
		if err != nil || again.Spec() != l.Spec() {
			t.Fatalf("ParseLayout(%q) = %v, %v", l.Spec(), again, err)
		}
	})
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
