package sqlassign

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/snowfall-go/snowfall/internal/testkit/leakcheck"
)

var urlCases = []struct {
	url, driver, dsnHas string
}{
	{"sqlite:///tmp/x.db", "sqlite", "file:/tmp/x.db?_txlock=immediate"},
	{"sqlite://rel.db", "sqlite", "file:rel.db?"},
	{"sqlite::memory:", "sqlite", "file::memory:"},
	{"postgres://u:secret@db:5432/ids?sslmode=disable", "pgx", "postgres://u:secret@db:5432/ids"},
	{"postgresql://db/ids", "pgx", "postgresql://db/ids"},
	{"mysql://u:secret@db:3307/ids", "mysql", "clientFoundRows=true"},
	{"mysql://u@db/ids?tls=skip-verify", "mysql", "db:3306"},
	{"mariadb://root@127.0.0.1/test", "mysql", "tcp(127.0.0.1:3306)/test"},
	{"postgres:///ids?host=/var/run/postgresql", "pgx", "host=/var/run/postgresql"},
	{"host=/var/run/postgresql user=u password=secret dbname=ids", "pgx", "host=/var/run/postgresql"},
	{"host=db password='se cret' dbname=ids", "pgx", "dbname=ids"},
	{"mysql://u:secret@/ids?socket=/run/mysqld/mysqld.sock", "mysql", "unix(/run/mysqld/mysqld.sock)/ids"},
}

func TestParseURL(t *testing.T) {
	for _, tc := range urlCases {
		t.Run(tc.url, func(t *testing.T) {
			got, err := parseURL(tc.url)
			if err != nil {
				t.Fatalf("parseURL: %v", err)
			}
			if got.driver != tc.driver || !strings.Contains(got.dsn, tc.dsnHas) {
				t.Errorf("got driver %s, dsn %q; want %s, containing %q", got.driver, got.dsn, tc.driver, tc.dsnHas)
			}
			if strings.Contains(got.display, "secret") || strings.Contains(got.display, "se cret") {
				t.Errorf("display %q shows the password", got.display)
			}
		})
	}
}

func TestQ(t *testing.T) {
	if got, want := postgres.q("a = ? AND b < {now} + ?"), "a = $1 AND b < "+postgres.now+" + $2"; got != want {
		t.Errorf("postgres: got %q, want %q", got, want)
	}
	if got, want := mysqlDialect.q("a = ?"), "a = ?"; got != want {
		t.Errorf("mysql: got %q, want %q", got, want)
	}
}

func FuzzParseURL(f *testing.F) {
	for _, tc := range urlCases {
		f.Add(tc.url)
	}
	f.Add("oracle://x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseURL(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "sqlassign: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if len(s) >= 16 && strings.Contains(err.Error(), s) {
				t.Errorf("error %q quotes the URL", err)
			}
			return
		}
		if got.driver == "" || got.dsn == "" {
			t.Errorf("parseURL(%q): empty driver or DSN: %+v", s, got)
		}
	})
}

// TestURLErrorsHidePasswords: no message about a malformed URL or DSN quotes it, whatever the form:
// an escape that does not parse, a password in the query, a keyword DSN, an unknown keyword or
// scheme, a password cut by an unescaped '/', '?' or '#'.
func TestURLErrorsHidePasswords(t *testing.T) {
	for _, u := range []string{
		"postgres://u:s3cr%zz@h/db",
		"mysql://u:s3cr%zz@h/db",
		"postgres:///db?password=s3cr",
		"mysql://u@h/?password=s3cr",
		"host=h password=s3cr port=notanumber",
		"Host=h Password=s3cr",
		"host=h password=s3cr dbname=db s3cr=1",
		"s3cr://u@h/db",
		"postgres://u:ab/s3cr@h/db",
		"postgres://u:ab@cd/s3cr@h/db",
		"postgres://u:12#s3cr@h/db",
		"mysql://u:ab?s3cr@h/db",
		"sqlite://u:s3cr@/tmp/x.db",
		"sqlite://:s3cr?x@/tmp/x.db",
		"sqlite:u:s3cr@/tmp/x.db",
		"u:s3cr@tcp(h:3306)/db",
	} {
		err := CheckURL(u, "")
		if err == nil {
			t.Errorf("CheckURL(%d chars): no error", len(u))
			continue
		}
		if strings.Contains(err.Error(), "s3cr") || !strings.Contains(err.Error(), "(value hidden)") {
			t.Errorf("CheckURL: error %q shows the password, or does not say it hides the value", err)
		}
	}
}

// TestRedacted: the display form of each accepted URL holds the password of none.
func TestRedacted(t *testing.T) {
	for _, c := range []struct{ url, want string }{
		{"postgres://u:secret@db:5432/ids?sslmode=disable&application_name=x", "postgres://u:xxxxx@db:5432/ids?sslmode=disable"},
		{"POSTGRESQL://u@db/ids?password=secret", "postgresql://u@db/ids?password=xxxxx"},
		{"host=db password='se cret' dbname=ids user=u", "host=db port=5432 user=u dbname=ids"},
		{"host = db password=ab://secret user=u dbname=ids", "host=db port=5432 user=u dbname=ids"},
		{"mysql://u:secret@db:3307/ids?tls=skip-verify&sql_mode=x", "mysql://u:xxxxx@db:3307/ids?tls=skip-verify"},
		{"sqlite:///tmp/x.db?_pragma=key('secret')", "sqlite:///tmp/x.db"},
		{"sqlite::memory:", "sqlite::memory:"},
		{"sqlite:///home/ann@example.com/x.db?_pragma=key('secret')", "sqlite:///home/ann@example.com/x.db"},
	} {
		got, err := Redacted(c.url)
		if err != nil || got != c.want {
			t.Errorf("Redacted: got %q, %v; want %q", got, err, c.want)
		}
	}
}

// FuzzRedactedPassword: a password, written as it is or escaped, in each URL and DSN form, never
// shows in the display form or an error, in any encoding (internal/testkit/leakcheck), beyond the
// pieces the form's own text holds.
func FuzzRedactedPassword(f *testing.F) {
	for _, pw := range []string{"s3cret", "a b", "p@ss/word", "x'y\\z", "12?cd@h", "ab#cd", "%zz", "&dbname=x"} {
		for form := range uint8(len(passwordForms)) {
			f.Add(pw, form, form%2 == 0)
		}
	}
	f.Fuzz(func(t *testing.T, pw string, form uint8, escaped bool) {
		build := passwordForms[int(form)%len(passwordForms)]
		raw := build(pw, escaped)
		var out string
		if d, err := Redacted(raw); err != nil {
			out = err.Error()
		} else {
			out = d
		}
		if utf8.RuneCountInString(pw) < 4 || (!escaped && namesParameter(pw)) {
			return
		}
		if int(form)%len(passwordForms) == 7 && regexp.MustCompile(`^\s*[A-Za-z_]+\s*=`).MatchString(pw) {
			return // the bare form: a password that starts "name=" is a keyword DSN naming that parameter
		}
		// A fragment the output also holds for a sibling password (each letter and digit
		// replaced, so that every parser takes the same path) is the program's own text.
		sib := sibling(pw)
		var control string
		if d, err := Redacted(build(sib, escaped)); err != nil {
			control = err.Error()
		} else {
			control = d
		}
		for _, h := range leakcheck.NewFinder(leakcheck.Password{Text: pw}).Find(out) {
			if !strings.Contains(control, h.Encoded) {
				t.Fatalf("%q shows %q of the password %q: %q", raw, h.Encoded, pw, out)
			}
		}
	})
}

// namesParameter reports whether pw, written without escapes, holds what makes a parameter of its
// own: '&', a space or a quote followed by a name and '='. Such a password cannot be told from the
// parameter it spells, which the display form may show (see redact.ParseURL).
func namesParameter(pw string) bool {
	return regexp.MustCompile(`[&\s'"\\]\s*[A-Za-z_]+\s*=`).MatchString(pw)
}

// sibling returns pw with each ASCII letter and digit replaced by another of its kind, except
// the two hex digits of a percent-escape: they are structure to a URL parser, and a sibling
// whose escape no longer decodes (%0A becomes %3H) takes another path through it.
func sibling(pw string) string {
	b := []byte(pw)
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '%' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
			i += 2
			continue
		}
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = 'a' + (c-'a'+7)%26
		case 'A' <= c && c <= 'Z':
			b[i] = 'A' + (c-'A'+7)%26
		case '0' <= c && c <= '9':
			b[i] = '0' + (c-'0'+3)%10
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// passwordForms write a password into each form of URL and DSN, escaped or as it is.
var passwordForms = []func(pw string, escaped bool) string{
	func(pw string, esc bool) string {
		if esc {
			return "postgres://" + url.UserPassword("u", pw).String() + "@h:5432/db?sslmode=disable"
		}
		return "postgres://u:" + pw + "@h:5432/db?sslmode=disable"
	},
	func(pw string, esc bool) string {
		if esc {
			pw = url.QueryEscape(pw)
		}
		return "postgresql://u@h/db?sslmode=disable&password=" + pw
	},
	func(pw string, esc bool) string {
		if esc {
			pw = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'"
		}
		return "host=h port=5432 user=u password=" + pw + " dbname=db"
	},
	func(pw string, esc bool) string {
		if esc {
			pw = "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'"
		}
		return "Password = " + pw + " Host = h"
	},
	func(pw string, esc bool) string {
		if esc {
			return "mysql://" + url.UserPassword("u", pw).String() + "@h/db"
		}
		return "mysql://u:" + pw + "@h/db"
	},
	func(pw string, esc bool) string { return "u:" + pw + "@tcp(h:3306)/db" },
	func(pw string, esc bool) string {
		v := "key('" + pw + "')"
		if esc {
			v = url.QueryEscape("key('" + strings.ReplaceAll(pw, "'", "''") + "')")
		}
		return "sqlite:///tmp/x.db?_pragma=" + v
	},
	func(pw string, esc bool) string { return pw },
	func(pw string, esc bool) string { return pw + "://h/db" },
}
