package redact

import (
	"encoding/base64"
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
