package redact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
)

// TestURLRenderings: every way of printing a URL, alone or inside a struct, a map, a slice, a log
// record or JSON, shows the display form and never the text.
func TestURLRenderings(t *testing.T) {
	const raw, display = "postgres://u:hunter2@h/db", "postgres://u:xxxxx@h/db"
	u := New(raw, display)
	type holder struct {
		Exported   URL
		unexported URL
		Ptr        *URL
	}
	h := holder{u, u, &u}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%T", "%d", "%10v", "%-10s"} {
		out = append(out, fmt.Sprintf(verb, u), fmt.Sprintf(verb, &u), fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h),
			fmt.Sprintf(verb, []URL{u}), fmt.Sprintf(verb, map[string]URL{"db": u}), fmt.Sprintf(verb, []any{u, &h}))
	}
	out = append(out, fmt.Sprint(u, h), fmt.Sprintln(u, &h), u.String())
	for _, v := range []any{u, h, &h, map[string]any{"db": u}} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	if b, _ := u.MarshalText(); string(b) != display {
		t.Errorf("MarshalText: %q", b)
	}
	var logs bytes.Buffer
	for _, hd := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(hd)
		l.Info("x", "db", u, "h", h, "p", &h, slog.Group("g", "db", u))
		l.With("db", u).Info("with")
		l.Info(fmt.Sprint(u))
	}
	out = append(out, logs.String())
	for _, s := range out {
		if strings.Contains(s, "hunter") {
			t.Errorf("a rendering shows the password: %s", s)
		}
	}
	if !strings.Contains(logs.String(), display) || fmt.Sprintf("%v", u) != display || fmt.Sprintf("%q", u) != `"`+display+`"` {
		t.Errorf("the display form is missing: %q, %v, %q", logs.String(), u, u)
	}
	if u.Raw() != raw {
		t.Errorf("Raw() = %q", u.Raw())
	}
	var zero URL
	if zero.String() != "" || zero.Raw() != "" || !zero.IsZero() || u.IsZero() {
		t.Error("zero value")
	}
}

var parseCases = []struct {
	raw    string
	err    error  // nil: accepted
	host   string // when accepted
	path   string
	output string // Display with show [host sslmode] and secret [password]
}{
	{"postgres://u:pw@h:5432/db?sslmode=disable", nil, "h:5432", "/db", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
	{"postgres://u:p%40w%2F%3F%23@h/db", nil, "h", "/db", "postgres://u:xxxxx@h/db"},
	{"postgres://u:p@w@h/db", nil, "h", "/db", "postgres://u:xxxxx@h/db"},
	{"postgres://u@h/db?password=pw&x=secret&sslmode=require", nil, "h", "/db", "postgres://u@h/db?sslmode=require&password=xxxxx"},
	{"POSTGRES://u@a:1,b:2/db", nil, "a:1,b:2", "/db", "postgres://u@a:1,b:2/db"},
	{"postgres:///db?host=/run/pg", nil, "", "/db", "postgres:///db?host=%2Frun%2Fpg"},
	{"postgres://u:ab/cd@h/db", errAtAfter, "", "", ""},
	{"postgres://u:ab/cd", errHost, "", "", ""},
	{"postgres://u:12/cd@h/db", errAtAfter, "", "", ""},
	{"postgres://u:a@b/cd@h/db", errAtAfter, "", "", ""},
	{"postgres://u:12?cd@h/db", errAtAfter, "", "", ""},
	{"postgres://u:ab#cd@h/db", errFragment, "", "", ""},
	{"postgres://u:a b@h/db", errUserinfo, "", "", ""},
	{`postgres://u:a"b@h/db`, errUserinfo, "", "", ""},
	{`postgres://u:a\b@h/db`, errUserinfo, "", "", ""},
	{"postgres://u:aßb@h/db", errUserinfo, "", "", ""},
	{"postgres://u:a%zzb@h/db", errEscape, "", "", ""},
	{"postgres://u@h/db?password=a%zz", errEscape, "", "", ""},
	{"postgres://u@h/db?password=a;b", errQuery, "", "", ""},
	{"postgres://u:a\nb@h/db", errControl, "", "", ""},
	{" postgres://u@h/db", errSpace, "", "", ""},
	{"postgres://u@h/db\n", errSpace, "", "", ""},
	{"u:pw@h/db", errScheme, "", "", ""},
	{"//u:pw@h/db", errScheme, "", "", ""},
	{"pass word://h/db", errScheme, "", "", ""},
	{"sqlite::memory:", errScheme, "", "", ""},
}

func TestParseURL(t *testing.T) {
	for _, c := range parseCases {
		u, q, err := ParseURL(c.raw)
		if c.err != nil {
			if err != c.err {
				t.Errorf("ParseURL(%q): error %v, want %v", c.raw, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.raw, err)
			continue
		}
		if u.Host != c.host || u.Path != c.path {
			t.Errorf("ParseURL(%q): host %q path %q, want %q and %q", c.raw, u.Host, u.Path, c.host, c.path)
		}
		if got := Display(u, q, []string{"host", "sslmode"}, []string{"password"}); got != c.output {
			t.Errorf("Display(%q) = %q, want %q", c.raw, got, c.output)
		}
	}
}

// FuzzParseURL: whatever a password written without escapes holds, ParseURL either refuses the URL
// or takes the host, path, user and query of its template, never a piece of the password for one of
// them; and no error of ParseURL holds a character of the input that its fixed words lack.
func FuzzParseURL(f *testing.F) {
	for _, pw := range []string{"pw", "p@w", "ab/cd", "12/cd", "a@b/cd", "12?cd", "ab#cd", "a b", "a%zz", "x:y:z", "@", "/@", "?@#", "%41"} {
		f.Add(pw)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		raw := "postgres://u:" + pw + "@h.example:5432/db?sslmode=disable"
		u, q, err := ParseURL(raw)
		if err != nil {
			return
		}
		p, _ := u.User.Password()
		if u.Host != "h.example:5432" || u.Path != "/db" || u.User.Username() != "u" || q.Encode() != "sslmode=disable" {
			t.Fatalf("ParseURL(%q): host %q path %q user %q query %q password %q", raw, u.Host, u.Path, u.User.Username(), q.Encode(), p)
		}
		if d := Display(u, q, []string{"sslmode"}, nil); d != "postgres://u:xxxxx@h.example:5432/db?sslmode=disable" {
			t.Fatalf("Display: %q", d)
		}
	})
}

// TestError: an Error's message is its words, the display form and the class; %+v and %#v show
// no more; the cause is reachable.
func TestError(t *testing.T) {
	cause := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "hunter2.example", IsNotFound: true}}
	err := fmt.Errorf("wrapped: %w", Wrap("sqlassign: open", "postgres://u:xxxxx@hunter2.example/db", cause, nil))
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", errors.Unwrap(err)), fmt.Sprintf("%v", errors.Unwrap(err))} {
		if strings.Count(s, "hunter2") != 1 || strings.Contains(s, "no such host") {
			t.Errorf("message %q: want the display form once and no cause text", s)
		}
	}
	if want := "wrapped: sqlassign: open postgres://u:xxxxx@hunter2.example/db: host not found (DNS)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
	var dns *net.DNSError
	if !errors.As(err, &dns) || !errors.Is(err, cause) {
		t.Error("the cause is not reachable")
	}
	if Wrap("x", "y", nil, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, "timed out"},
		{fmt.Errorf("x: %w", syscall.ECONNREFUSED), "connection refused"},
		{&net.OpError{Err: syscall.ECONNRESET}, "connection reset"},
		{&net.DNSError{IsNotFound: true}, "host not found (DNS)"},
		{errors.New("pq: password hunter2 is wrong"), "failed (the driver's message is not shown"},
	} {
		if got := Classify(c.err, nil); !strings.HasPrefix(got, c.want) {
			t.Errorf("Classify(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	driver := func(error) string { return "the driver's class" }
	if got := Classify(syscall.ECONNREFUSED, driver); got != "the driver's class" {
		t.Errorf("the driver's classifier does not come first: %q", got)
	}
}
