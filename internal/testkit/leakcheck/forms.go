package leakcheck

import (
	"fmt"
	"net/url"
	"strings"
)

// Form is a spelling of a URL or DSN with a password, on a port nothing listens on (a command
// that connects fails at once).
type Form struct {
	Name string
	Make func(pw string) string
}

// Forms are the spellings the commands' generated secret tests put into their input.
var Forms = []Form{
	{"url", func(pw string) string { return "postgres://u:" + pw + "@127.0.0.1:1/db" }},
	{"url-escaped", func(pw string) string { return "postgres://u:" + EscapeAll(pw) + "@127.0.0.1:1/db" }},
	{"url-userinfo-escaped", func(pw string) string { return url.UserPassword("u", pw).String() + "@127.0.0.1:1" }},
	{"mysql-url", func(pw string) string { return "mysql://root:" + pw + "@127.0.0.1:1/test" }},
	{"http", func(pw string) string { return "http://u:" + EscapeAll(pw) + "@127.0.0.1:1" }},
	{"no-scheme", func(pw string) string { return "//u:" + pw + "@127.0.0.1:1/db" }},
	{"mysql-dsn", func(pw string) string { return "root:" + pw + "@tcp(127.0.0.1:1)/test" }},
	{"query-password", func(pw string) string { return "postgres://u@127.0.0.1:1/db?password=" + url.QueryEscape(pw) }},
	{"query-raw", func(pw string) string { return "postgres://u@127.0.0.1:1/db?sslmode=disable&password=" + pw }},
	{"query-sslpassword", func(pw string) string {
		return "postgres://u@127.0.0.1:1/db?sslpassword=" + url.QueryEscape(pw) + "&x=1"
	}},
	{"keyword", func(pw string) string {
		return "host=127.0.0.1 port=1 user=u password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=db"
	}},
	{"keyword-spaces", func(pw string) string {
		return "host=127.0.0.1 port=1 user=u password = '" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "' dbname=db"
	}},
	{"in-word", func(pw string) string { return "postgres://u:" + pw + "@127.0.0.1:1/db,extra" }},
	{"prefixed", func(pw string) string { return "x=[mysql://root:" + EscapeAll(pw) + "@127.0.0.1:1/test]" }},
	{"host-userinfo", func(pw string) string { return "u:" + EscapeAll(pw) + "@127.0.0.1" }},
}

// EscapeAll percent-escapes every byte of s but letters and digits.
func EscapeAll(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
