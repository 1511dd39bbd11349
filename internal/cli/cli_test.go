package cli

import (
	"flag"
	"net/url"
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
	{"0000000000000000000000005", 5, true}, // leading zeros do not count toward the width
	{"-000000000000000000000000000009223372036854775808", -1 << 63, true},
	{"000099999999999999999999", 0, false},
}

func TestParseDecimal(t *testing.T) {
	for _, c := range decimalTests {
		got, err := ParseDecimal(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDecimal(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

// checkNamed checks the error about s: it quotes s whole when s is short enough for the CLI's
// guard to judge, and otherwise names its length and quotes none of it (a clip can cut a password
// anywhere: right before its '@', or after its first three letters).
func checkNamed(t *testing.T, err error, s string) {
	t.Helper()
	msg := err.Error()
	if len(s) <= MaxQuoted {
		if !strings.Contains(msg, strconv.Quote(s)) {
			t.Fatalf("error %q does not name the value %q", msg, s)
		}
		return
	}
	if strings.Contains(msg, `"`) || !strings.Contains(msg, strconv.Itoa(len(s))+" bytes") {
		t.Fatalf("error %q about a value of %d bytes: want its length and no quote", msg, len(s))
	}
}

// TestParseDecimalNoClip (red team: the message quoted the first 40 bytes, and a clip ending right
// before a URL's '@' showed a two-letter password whole, or three letters of any): a value longer
// than MaxQuoted is named by its length, never by a piece of it.
func TestParseDecimalNoClip(t *testing.T) {
	for _, s := range []string{
		strings.Repeat("x", 25) + "postgres://u:Qz@h/db",
		strings.Repeat("x", 24) + "postgres://u:hunter2zz@h/db",
		strings.Repeat("9", 41),
		strings.Repeat("9", 40),
		"x",
	} {
		_, err := ParseDecimal(s)
		if err == nil {
			t.Fatalf("ParseDecimal(%q) accepted", s)
		}
		checkNamed(t, err, s)
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
			checkNamed(t, err, s)
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

// TestSecretCommandLine: a command with a flag that may hold a password (--db, --server) never
// echoes a word of its command line in an error: an unknown flag, bad flag syntax or a stray
// argument may be a piece of a password split by a missing quote. A command without one still names
// them.
func TestSecretCommandLine(t *testing.T) {
	for _, args := range [][]string{
		{"---db=postgres://u:hunter2@h/db"},
		{"--db", "postgres://u:my", "-hunter2@h/db"},
		{"--db", "postgres://u:my", "hunter2@h/db"},
		{"--db=postgres://u:my", "--hunter2@h/db"},
		{"-=hunter2"},
	} {
		for _, v := range []flag.Value{&DBURL{}, &ServerURL{}} {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			fs.Var(v, "db", "")
			err := Spec{Name: "x"}.Parse(fs, args, IO{Err: &strings.Builder{}, Getenv: func(string) string { return "" }})
			if err == nil || strings.Contains(err.Error(), "hunter2") || ExitCode(err) != ExitUsage {
				t.Errorf("%q: error %v; want a usage error without the word", args, err)
			}
		}
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("layout", "", "")
	err := Spec{Name: "x"}.Parse(fs, []string{"--layuot", "y"}, IO{Err: &strings.Builder{}})
	if err == nil || !strings.Contains(err.Error(), "layuot") {
		t.Errorf("a command without secrets: error %v, want it to name -layuot", err)
	}
	err = Spec{Name: "x"}.Parse(fs, []string{"extra"}, IO{Err: &strings.Builder{}})
	if err == nil || !strings.Contains(err.Error(), `"extra"`) {
		t.Errorf("a command without secrets: error %v, want it to name the stray argument", err)
	}
}

var serverURLTests = []struct {
	in, display, err string
}{
	{"http://localhost:8910", "http://localhost:8910", ""},
	{"127.0.0.1:8910", "http://127.0.0.1:8910", ""},
	{"HTTPS://h/prefix/", "https://h/prefix/", ""},
	{"http://u:hunter2@h:1", "http://u:xxxxx@h:1", ""},
	{"http://u:hun%2Fter2@h:1/p", "http://u:xxxxx@h:1/p", ""},
	{"http://u:hun/ter2@h:1", "", "an '@' after the host"},
	{"http://u:hunter2@h:1?x", "", "holds a query"},
	{"http://h:1/?", "", "holds a query"},
	{"http://h:1#frag", "", "'#'"},
	{"ftp://u:hunter2@h", "", "not http or https"},
	{"http://:1", "", "no host"},
	{"", "", "empty"},
	{" http://h:1", "", "white space"},
	{"http://u:hunter 2@h", "", "must be percent-encoded"},
}

func TestParseServerURL(t *testing.T) {
	for _, c := range serverURLTests {
		u, _, err := ParseServerURL(c.in)
		switch {
		case c.err == "" && (err != nil || u.String() != c.display):
			t.Errorf("ParseServerURL(%q) = %q, %v; want %q", c.in, u, err, c.display)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseServerURL(%q): error %v, want one containing %q", c.in, err, c.err)
		case err != nil && (strings.Contains(err.Error(), "hunter") || !strings.Contains(err.Error(), "(value hidden)")):
			t.Errorf("ParseServerURL(%q): error %q shows the value or does not say it is hidden", c.in, err)
		}
	}
}

// FuzzParseServerURL: an accepted URL is http or https with a host and no query, and its display
// form holds no password; an error never holds the value.
func FuzzParseServerURL(f *testing.F) {
	for _, c := range serverURLTests {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, p, err := ParseServerURL(s)
		if err != nil {
			if len(s) >= 16 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q quotes %q", err, s)
			}
			return
		}
		if (p.Scheme != "http" && p.Scheme != "https") || p.Hostname() == "" || p.RawQuery != "" || p.Fragment != "" {
			t.Fatalf("ParseServerURL(%q) accepted %+v", s, p)
		}
		want := p.Scheme + "://"
		if p.User != nil {
			want += url.User(p.User.Username()).String()
			if _, ok := p.User.Password(); ok {
				want += ":xxxxx"
			}
			want += "@"
		}
		if want += p.Host + p.EscapedPath(); u.String() != want {
			t.Fatalf("ParseServerURL(%q): display %q, want %q", s, u, want)
		}
	})
}

func TestHostName(t *testing.T) {
	for s, want := range map[string]bool{"localhost": true, "a.b-c.example": true, "x.": true, "": false, "a..b": false,
		"-a": false, "a-": false, "a b": false, "a_b": false, strings.Repeat("a", 64): false, strings.Repeat("a.", 127) + "a": false} {
		if got := hostName(s); got != want {
			t.Errorf("hostName(%q) = %v, want %v", s, got, want)
		}
	}
}
