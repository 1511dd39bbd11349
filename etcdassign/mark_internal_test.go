package etcdassign

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

var markCases = []struct {
	name  string
	value string
	ms    int64 // want, when ok
	ok    bool
}{
	{"written form", "00000001767225600000", 1767225600000, true},
	{"zero", "00000000000000000000", 0, true},
	{"unpadded", "1767225600000", 1767225600000, true},
	{"one digit", "5", 5, true},
	{"wider", "0000000000001767225600000", 1767225600000, true},
	{"max int64", "9223372036854775807", math.MaxInt64, true},
	{"past int64", "9223372036854775808", 0, false},
	{"huge", "99999999999999999999999999", 0, false},
	{"empty", "", 0, false},
	{"minus", "-5", 0, false},
	{"minus zero", "-0", 0, false},
	{"plus", "+00000001767225600000", 0, false},
	{"leading space", " 1767225600000", 0, false},
	{"trailing newline", "1767225600000\n", 0, false},
	{"hex", "0x1f", 0, false},
	{"underscore", "1_000", 0, false},
	{"decimal point", "1767225600000.5", 0, false},
	{"exponent", "1e12", 0, false},
	{"arabic digit", "١٢", 0, false},
	{"nul", "12\x0034", 0, false},
}

func TestParseMark(t *testing.T) {
	const key = "/p/g/mark/7"
	for _, c := range markCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseMark(key, []byte(c.value))
			if c.ok {
				if err != nil || got != c.ms {
					t.Errorf("parseMark(%q) = %d, %v; want %d", c.value, got, err, c.ms)
				}
				return
			}
			if err == nil {
				t.Fatalf("parseMark(%q) = %d, want an error", c.value, got)
			}
			if got != 0 {
				t.Errorf("parseMark(%q) returned %d with its error", c.value, got)
			}
			for _, want := range []string{key, strconv.Quote(c.value), "[0, 9223372036854775807]"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not hold %s", err, want)
				}
			}
		})
	}
}

// FuzzParseMark: parseMark accepts exactly the non-empty strings of ASCII digits whose number fits
// int64, reads them as that number, and reads back what padMs writes.
func FuzzParseMark(f *testing.F) {
	for _, c := range markCases {
		f.Add(c.value, c.ms)
	}
	f.Fuzz(func(t *testing.T, v string, ms int64) {
		got, err := parseMark("k", []byte(v))
		digits := v != "" && strings.Trim(v, "0123456789") == ""
		n, nerr := strconv.ParseInt(v, 10, 64)
		switch {
		case err == nil && (!digits || nerr != nil || got != n):
			t.Fatalf("parseMark(%q) = %d, but it is not a number in [0, MaxInt64] (ParseInt: %d, %v)", v, got, n, nerr)
		case err != nil && digits && nerr == nil:
			t.Fatalf("parseMark(%q): %v, but it is %d", v, err, n)
		case err != nil && !strings.Contains(err.Error(), "k holds"):
			t.Fatalf("parseMark(%q): error %q does not name the key", v, err)
		}
		p := padMs(ms)
		if back, err := parseMark("k", []byte(p)); err != nil || back != max(ms, 0) || len(p) != 20 {
			t.Fatalf("padMs(%d) = %q, read back as %d, %v", ms, p, back, err)
		}
	})
}

// TestMarkValueOrder: the written form orders like the numbers, so that two marks compare as text
// (in an etcd Compare, or by an operator reading etcdctl's output) as they do as times.
func TestMarkValueOrder(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := markValue(time.Time{})
	for _, d := range []time.Duration{0, time.Millisecond, time.Second, 200 * time.Hour * 24 * 365} {
		v := markValue(base.Add(d))
		if v <= prev {
			t.Errorf("markValue(%v) = %s, not above %s", base.Add(d), v, prev)
		}
		prev = v
	}
}
