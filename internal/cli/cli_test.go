package cli

import (
	"flag"
	"strconv"
	"strings"
	"testing"
	"time"
)

var decimalTests = []struct {
	in   string
	want int64
	ok   bool
}{
	{"0", 0, true},
	{"5", 5, true},
	{"-1", -1, true},
	{"9223372036854775807", 1<<63 - 1, true},
	{"9223372036854775808", 0, false},
	{" 5", 0, false},
	{"5 ", 0, false},
	{" 0", 0, false},
	{"+5", 0, false},
	{"0x10", 0, false},
	{"0o20", 0, false},
	{"1_000", 0, false},
	{"", 0, false},
	{"-", 0, false},
	{"１", 0, false},
}

func TestParseDecimal(t *testing.T) {
	for _, c := range decimalTests {
		got, err := ParseDecimal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// FuzzParseDecimal: whatever is accepted is the canonical decimal form of its value (up to a
// leading zero run), so the command line and the environment read numbers the same strict way.
func FuzzParseDecimal(f *testing.F) {
	for _, c := range decimalTests {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDecimal(s)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(s)) {
				t.Fatalf("error %q does not name the value", err)
			}
			return
		}
		digits := strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
		want := strconv.FormatInt(v, 10)
		if strings.TrimPrefix(want, "-") != digits && !(v == 0 && digits == "") {
			t.Fatalf("ParseDecimal(%q) = %d", s, v)
		}
	})
}

// FuzzParseEpoch: an accepted epoch is a time that formats and parses back to itself.
func FuzzParseEpoch(f *testing.F) {
	for _, s := range []string{"0", "1577836800000", "2020-01-01T00:00:00Z", "2020-01-01T00:00:00.123+02:00", "x", " 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseEpoch(s)
		if err != nil {
			return
		}
		back, err := parseEpoch(e.Format(time.RFC3339Nano))
		if err != nil || !back.Equal(e) {
			t.Fatalf("parseEpoch(%q) = %v, which does not round-trip (%v, %v)", s, e, back, err)
		}
	})
}

// TestEnvNamesVariable: a bad value from the environment is reported by its variable's name.
func TestEnvNamesVariable(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var port IntFlag
	fs.Var(&port, "port", "")
	err := parseFlags(fs, nil, "SNOWFALL_", func(k string) string { return map[string]string{"SNOWFALL_PORT": "0x10"}[k] })
	if err == nil || !strings.Contains(err.Error(), "SNOWFALL_PORT") {
		t.Errorf("Parse = %v, want an error naming SNOWFALL_PORT", err)
	}
	if got := FlagName(fs, "SNOWFALL_", func(k string) string { return "1" }, "port"); got != "SNOWFALL_PORT" {
		t.Errorf("FlagName = %q, want SNOWFALL_PORT", got)
	}
}
