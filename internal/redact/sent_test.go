package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestSecretsSentEncodings (red team: snowfall probe sent the URL's user:password as HTTP Basic
// auth, and a server echoing the Authorization header got the password printed in base64): every
// encoding of a password that the program itself sends is a secret too.
func TestSecretsSentEncodings(t *testing.T) {
	for _, input := range []string{
		"http://rt_user:hunter2zz@127.0.0.1:1/",
		"http://rt%5Fuser:hunter%32zz@127.0.0.1:1/",
		"postgres://rt_user:hunter2zz@h/db",
		"rt_user:hunter2zz@tcp(h:3306)/db",
	} {
		var s Secrets
		s.Add(input)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			for _, plain := range []string{"rt_user:hunter2zz", "hunter2zz"} {
				e := enc.EncodeToString([]byte(plain))
				for _, text := range []string{"ok Basic " + e, "got " + e[:8] + "…"} {
					if got := s.Words(text); !strings.Contains(got, Hidden) {
						t.Errorf("input %q: Words(%q) = %q: the base64 of %q shown", input, text, got, plain)
					}
				}
			}
		}
	}
}

// TestSecretsKeywordSpaces (red team: pgx accepts "password = secret" in a keyword/value DSN, and
// the finder did not): the finder accepts what pgx's keyword/value parser accepts: white space
// around '=', single-quoted values with backslash escapes.
func TestSecretsKeywordSpaces(t *testing.T) {
	for _, c := range []struct{ input, text string }{
		{"host=127.0.0.1 user=rt_u password = hunter2zz dbname=test", "driver said: hunter2zz"},
		{"host=h password =hunter2zz", "x hunter2zz"},
		{"host=h password\t=\thunter2zz", "x hunter2zz"},
		{"host=h password= hunter2zz", "x hunter2zz"},
		{`host=h password = 'it\'s a b' dbname=d`, "x it's a b"},
		{`host=h password='back\\slash'`, `x back\slash`},
	} {
		var s Secrets
		s.Add(c.input)
		if got := s.Words(c.text); !strings.Contains(got, Hidden) {
			t.Errorf("input %q: Words(%q) = %q: password shown", c.input, c.text, got)
		}
	}
}

// TestSecretsRawAmpersand (generated case SSSS_WORDS_SEED=2 case 1314): a password written raw in
// a query that starts with or holds '&' is learned as far as the next "&name=".
func TestSecretsRawAmpersand(t *testing.T) {
	for _, c := range []struct{ input, text string }{
		{"postgres://u@h:1/db?sslmode=disable&password=&üä¶xyz", "x &üä¶xyz"},
		{"postgres://u@h:1/db?password=&h*z&sslmode=disable", "x &h*z&sslmode"},
		{"postgres://u@h:1/db?password=ab&cdef", "x ab&cdef"},
	} {
		var s Secrets
		s.Add(c.input)
		if got := s.Words(c.text); !strings.Contains(got, Hidden) {
			t.Errorf("input %q: Words(%q) = %q: password shown", c.input, c.text, got)
		}
	}
}

// TestSecretsSentUserinfoAsParsed (red team F5, basic_echo_colon.sh: for http://ops:Kq9:Zx7Wp@h
// the guard read "Kq9" as the user, as in mysql:u:p@, and for http://:pw@h it hid no
// user:password as the user was empty; net/http sent base64("ops:Kq9:Zx7Wp") and base64(":pw"),
// and a server echoing the Authorization header got them printed): for every input holding a URL
// with a password, the Basic credentials net/http sends for it (net/url's own user and password)
// are hidden in every base64 alphabet, padded or not, and from every offset.
func TestSecretsSentUserinfoAsParsed(t *testing.T) {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	var inputs []string
	for _, ui := range []string{"ops:Kq9:Zx7Wp", ":Kq9Zx7Wp", ":Kq9:Zx7Wp", "ops:Kq9%3AZx7Wp", "o%3Aps:Kq9Zx7Wp", "ops::", ":a:b:c", "ops:p@ss:w0rd", "x:y"} {
		for _, form := range []string{"http://%s@127.0.0.1:1/", "https://%s@h", "%s@127.0.0.1:8910", "--server=http://%s@h:1", "--server=%s@h:1"} {
			inputs = append(inputs, strings.Replace(form, "%s", ui, 1))
		}
	}
	for _, input := range inputs {
		raw := input
		if i := strings.Index(raw, "://"); i >= 0 {
			raw = raw[i+3:]
		} else if i := strings.LastIndexByte(raw, '='); i >= 0 {
			raw = raw[i+1:]
		}
		u, err := url.Parse("http://" + strings.SplitN(raw, "/", 2)[0])
		if err != nil || u.User == nil {
			t.Fatalf("input %q: %v", input, err)
		}
		pw, _ := u.User.Password()
		sent := u.User.Username() + ":" + pw
		var s Secrets
		s.Add(input)
		for _, enc := range encs {
			e := enc.EncodeToString([]byte(sent))
			for off := 0; off+4 <= len(e); off++ {
				text := "echo Basic " + e[off:off+4] + " x"
				if got := s.Words(text); !strings.Contains(got, Hidden) {
					t.Errorf("input %q: Words(%q) = %q: a piece of base64(%q) (what net/http sends) shown", input, text, got, sent)
					break
				}
			}
		}
	}
}
