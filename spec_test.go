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
