package redact

import (
	"errors"
	"net/url"
	"strings"
)

// The reasons ParseURL gives. Each is fixed text: none quotes the value.
var (
	errSpace    = errors.New("it starts or ends with white space")
	errControl  = errors.New("it holds a control character (write a newline or tab in a password as %0A or %09)")
	errFragment = errors.New("it holds a '#' (write a '#' in a password as %23)")
	errScheme   = errors.New("it does not start with scheme://")
	errAtAfter  = errors.New("it holds an '@' after the host (write an '@', '/', '?' or '#' in a user or password as %40, %2F, %3F or %23)")
	errUserinfo = errors.New("the user or password holds a character that must be percent-encoded (a space, a quote, a backslash, '[', ']', a non-ASCII letter…)")
	errEscape   = errors.New("it holds a '%' not followed by two hexadecimal digits (write a '%' in a password as %25)")
	errHost     = errors.New("the part after scheme:// is not [user[:password]@]host[:port] (write a '/', '?' or '#' in a password as %2F, %3F or %23)")
	errQuery    = errors.New("its query does not parse (write a '%', ';' or '&' in a password as %25, %3B or %26)")
)

// ParseURL parses raw as scheme://[user[:password]@]host[:port][,host[:port]…][/path][?query] and
// returns it with its query. It refuses, beyond what net/url refuses, the shapes in which a
// password's characters would be taken for another part: an '@' after the host (a '/', '?' or '#'
// in the password cut the host short, and the host, path or query would hold the password's
// remainder) and a '#' anywhere. Then the host, the path and the parameters of an accepted URL hold
// no character of a password in its user-information (a password that is written without
// escapes, as a parameter value, and itself holds '&name=' is indistinguishable from a parameter
// name). Its errors are fixed words: they never quote raw.
func ParseURL(raw string) (*url.URL, url.Values, error) {
	if strings.TrimSpace(raw) != raw {
		return nil, nil, errSpace
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, nil, errControl
	}
	if strings.ContainsRune(raw, '#') {
		return nil, nil, errFragment
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !ValidScheme(scheme) {
		return nil, nil, errScheme
	}
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	if strings.ContainsRune(rest[end:], '@') {
		return nil, nil, errAtAfter
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		userinfo := authority[:at]
		if !validUserinfo(userinfo) {
			return nil, nil, errUserinfo
		}
		if badEscape(userinfo) {
			return nil, nil, errEscape
		}
	}
	if badEscape(rest[end:]) {
		return nil, nil, errEscape
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, errHost
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, nil, errQuery
	}
	return u, q, nil
}

// ValidScheme reports whether s is a URL scheme: a letter, then letters, digits, '+', '-' or '.'.
func ValidScheme(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// validUserinfo reports whether s holds only what RFC 3986 allows in user-information (and '@',
// which net/url accepts there): what net/url's parser accepts.
func validUserinfo(s string) bool {
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		case strings.ContainsRune("-._:~!$&'()*+,;=%@", r):
		default:
			return false
		}
	}
	return true
}

// badEscape reports whether s holds a '%' not followed by two hexadecimal digits.
func badEscape(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			return true
		}
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Display returns the display form of u, a URL ParseURL accepted with query q:
// scheme://[user[:xxxxx]@]host[/path], then the parameters named in show with their values and
// those named in secret as xxxxx, in that order. Every other parameter is left out: a name that no
// parser knows may be a piece of a password whose '&' was not escaped.
func Display(u *url.URL, q url.Values, show, secret []string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(u.Scheme))
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(url.User(u.User.Username()).String())
		if _, ok := u.User.Password(); ok {
			b.WriteString(":" + Mask)
		}
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	sep := "?"
	for _, k := range show {
		for _, v := range q[k] {
			b.WriteString(sep + k + "=" + url.QueryEscape(v))
			sep = "&"
		}
	}
	for _, k := range secret {
		if q.Has(k) {
			b.WriteString(sep + k + "=" + Mask)
			sep = "&"
		}
	}
	return b.String()
}

// InvalidError is a URL that does not parse, told without its value: "[<pkg>: ]not a valid <what>
// (value hidden): <reason>", the reason in fixed words.
type InvalidError struct {
	Pkg, What string
	Reason    error
}

func (e *InvalidError) Error() string {
	msg := "not a valid " + e.What + " (value hidden): " + e.Reason.Error()
	if e.Pkg != "" {
		msg = e.Pkg + ": " + msg
	}
	return msg
}

// Unwrap returns the reason.
func (e *InvalidError) Unwrap() error { return e.Reason }
