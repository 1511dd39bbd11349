package snowfall

import (
	"errors"
	"strings"
	"testing"
)

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
		{"time40,seq=12", "unknown preset"},
		{"time=40,seq12", "not name=bits"},
		{"time=40,seq=12,gen=11,spread=64", "needs the seq field lowest"},
		{"time=41,dc=5,worker=5,seq=12,spread=48", "power of two in [2, 4096]"},
		{"time=41,dc=5,worker=5,seq=12,spread=8192", "power of two in [2, 4096]"},
		{"time=41,dc=5,worker=5,seq=12,spread=1", "power of two in [2, 4096]"},
		{"time=41,dc=5,worker=5,seq=12,spread=0", "spread \"0\""},
		{"time=41,dc=5,worker=5,seq=12,spread=-64", "power of two"},
		{"time=41,dc=5,worker=5,seq=12,spread=x", "spread \"x\""},
		{"time=41,dc=5,worker=5,seq=12,spread=64,spread=64", "spread appears twice"},
		{"twitter,spread=64,spread=32", "spread appears twice"},
		{"twitter,seq=12", "takes no fields"},
		{"twitter,unit=10ms", "has its own unit"},
		{"snowfall,spread=64", "needs the seq field lowest"},
		{"js,spread=8", "needs the seq field lowest"},
		{"twitter,snowfall", "a preset name comes first"},
		{"pysnowflake,spread=2048", "power of two in [2, 1024]"},
		{"time=41,seq=7,gen=6", "sum to 54 bits"},
		{"time=41,seq=7,gen=4", "sum to 52 bits"},
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

func FuzzParseLayout(f *testing.F) {
	for _, s := range []string{"snowfall", "twitter", "js", "time=41,dc=5,worker=5,seq=12", "time=40,seq=12,gen=11,unit=10ms", "time=1,seq=1", "",
		"twitter,spread=64", "time=41,dc=5,worker=5,seq=12,spread=4096", "time=41,gen=5,seq=7,spread=128", "pysnowflake,spread=2", "time=41,seq=7,gen=5"} {
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
		if sum != l.Width() || (sum != FullWidth && sum != JSWidth) || l.Fields()[0].Kind != FieldTime {
			t.Fatalf("accepted %q with fields %v (width %d)", s, l.Fields(), l.Width())
		}
		if l.MaxID() < 0 || (l.Width() == JSWidth && l.MaxID() >= 1<<53) {
			t.Fatalf("accepted %q whose largest ID %d does not fit its width %d", s, l.MaxID(), l.Width())
		}
		if sp := l.Spread(); sp != 0 {
			fs := l.Fields()
			if fs[len(fs)-1].Kind != FieldSequence || sp < 2 || sp > l.PerTick() || sp&(sp-1) != 0 {
				t.Fatalf("accepted %q with spread %d on fields %v", s, sp, fs)
			}
		}
		again, err := ParseLayout(l.Spec())
		if err != nil || again.Spec() != l.Spec() || again.Spread() != l.Spread() || again.Width() != l.Width() {
			t.Fatalf("ParseLayout(%q) = %v, %v", l.Spec(), again, err)
		}
	})
}

// TestSpreadRoundTrip: a layout's spread survives its spec, its epoch and its manifest, and a preset
// keeps its name with a spread.
func TestSpreadRoundTrip(t *testing.T) {
	l := must(ParseLayout("twitter,spread=64"))
	if l.Name() != PresetTwitter || l.Spread() != 64 || l.Spec() != "time=41,dc=5,worker=5,seq=12,spread=64" || l.EpochMs() != EpochTwitter {
		t.Fatalf("twitter,spread=64 = %s, spread %d", l, l.Spread())
	}
	if l == must(Preset(PresetTwitter)) {
		t.Error("a preset with a spread compares equal to the preset")
	}
	back := must(must(ParseLayout(l.Spec())).WithEpoch(l.Epoch()))
	if back != l {
		t.Errorf("ParseLayout(Spec()).WithEpoch(Epoch()) = %v, want %v", back, l)
	}
	none := must(l.WithSpread(0))
	if none != must(Preset(PresetTwitter)) {
		t.Errorf("WithSpread(0) = %v, want the preset", none)
	}
}
