package sqlassign

import (
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/redact"
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
			return
		}
		if got.driver == "" || got.dsn == "" {
			t.Errorf("parseURL(%q): empty driver or DSN: %+v", s, got)
		}
	})
}

// TestURLErrorsHidePasswords: every message about a malformed URL or DSN names it without its
// password, whatever the form: an escape that does not parse, a password in the query, a keyword
// DSN (u.Redacted() missed the first two).
func TestURLErrorsHidePasswords(t *testing.T) {
	for _, u := range []string{
		"postgres://u:s3cr%zz@h/db",
		"mysql://u:s3cr%zz@h/db",
		"postgres:///db?password=s3cr",
		"mysql://u@h/?password=s3cr",
		"host=h password=s3cr port=notanumber",
	} {
		err := CheckURL(u, "")
		if err == nil {
			t.Errorf("CheckURL(%s): no error", redact.DSN(u))
			continue
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("CheckURL: error %q shows the password", err)
		}
	}
}
