package redact

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

var cases = []struct {
	name, dsn, want string
}{
	{"userinfo", "postgres://u:s3cret@db:5432/x?sslmode=disable", "postgres://u:xxxxx@db:5432/x?sslmode=disable"},
	{"escaped userinfo", "mysql://u:p%40ss@db/x", "mysql://u:xxxxx@db/x"},
	{"unescaped at", "mysql://u:p@ss@db/x", "mysql://u:xxxxx@db/x"},
	{"query", "postgres://u@db/x?sslmode=disable&password=s3cret", "postgres://u@db/x?sslmode=disable&password=xxxxx"},
	{"query first", "postgres://db/x?PASSWORD=s3cret&a=b", "postgres://db/x?PASSWORD=xxxxx&a=b"},
	{"sslpassword", "postgres://db/x?sslpassword=k3y", "postgres://db/x?sslpassword=xxxxx"},
	{"both", "postgres://u:a1@db/x?password=b2", "postgres://u:xxxxx@db/x?password=xxxxx"},
	{"key=value", "host=db user=u password=s3cret dbname=x", "host=db user=u password=xxxxx dbname=x"},
	{"key=value quoted", `host=db password='s3 c\'ret' dbname=x`, `host=db password=xxxxx dbname=x`},
	{"key = value", "host=db password = s3cret", "host=db password = xxxxx"},
	{"no scheme", "//u:s3cret@db/x", "//u:xxxxx@db/x"},
	{"bare", "u:s3cret@db/x", "u:xxxxx@db/x"},
	{"unparsable", "postgres://u:s3cret@[::1/x", "postgres://u:xxxxx@[::1/x"},
	{"no password", "postgres://u@db/x", "postgres://u@db/x"},
	{"sqlite", "sqlite:///var/lib/x.db", "sqlite:///var/lib/x.db"},
	{"memory", "sqlite::memory:", "sqlite::memory:"},
	{"empty", "", ""},
}

func TestDSN(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DSN(c.dsn); got != c.want {
				t.Errorf("DSN(%q) = %q, want %q", c.dsn, got, c.want)
			}
		})
	}
}

func TestScrubMessages(t *testing.T) {
	dsn := "postgres://u:p%40ss@[::1/x?password=other"
	_, perr := url.Parse(strings.Clone(dsn)) // unparsable on purpose: its error repeats the URL
	sec := Secrets(dsn)
	err := Error(fmt.Errorf("open: %w", perr), sec)
	for _, bad := range []string{"p%40ss", "p@ss", "other"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("message %q shows %q", err, bad)
		}
	}
	if !errors.Is(err, perr) {
		t.Errorf("Error lost the chain")
	}
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewTextHandler(&buf, nil), sec)).With("db", dsn)
	log.Info("connect "+dsn, "err", perr, slog.Group("g", "u", "p@ss"))
	if s := buf.String(); strings.Contains(s, "p@ss") || strings.Contains(s, "other") || strings.Contains(s, "p%40ss") {
		t.Errorf("log record shows a password: %s", s)
	}
}

// FuzzDSN builds DSNs of every shape around a password and checks that neither DSN nor Scrub lets
// it through; any text at all must not panic DSN.
func FuzzDSN(f *testing.F) {
	for i, c := range cases {
		f.Add(c.dsn, "u", "s3cret", uint8(i))
	}
	f.Fuzz(func(t *testing.T, raw, user, pw string, shape uint8) {
		DSN(raw)
		Scrub(raw, Secrets(raw))
		pw = "Zq7" + pw // long enough to stand for itself
		user = strings.Map(func(r rune) rune {
			if strings.ContainsRune(":@/?#[]%", r) || r < ' ' {
				return -1
			}
			return r
		}, user)
		var dsn string
		switch shape % 6 {
		case 0:
			dsn = (&url.URL{Scheme: "postgres", User: url.UserPassword(user, pw), Host: "db:5432", Path: "/x"}).String()
		case 1:
			dsn = "postgres://db/x?" + url.Values{"password": {pw}, "sslmode": {"disable"}}.Encode()
		case 2:
			dsn = "host=db password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=x"
		case 3:
			dsn = "//" + user + ":" + url.PathEscape(pw) + "@db/x"
		case 4:
			if strings.ContainsAny(pw, "\x00") {
				return
			}
			dsn = "mysql://" + user + ":" + pw + "@[::1/x" // raw and unparsable
		case 5:
			dsn = "host=db password=" + url.QueryEscape(pw) + " user=u"
		}
		red := DSN(dsn)
		msg := Scrub(fmt.Sprintf("connect %q: %s failed", dsn, dsn), Secrets(dsn))
		for _, out := range []string{red, msg} {
			if strings.Contains(out, pw) {
				t.Fatalf("shape %d: %q shows password %q (dsn %q)", shape%6, out, pw, dsn)
			}
		}
	})
}
