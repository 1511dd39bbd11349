package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Hidden replaces a word of a message that may hold a password (see Secrets).
const Hidden = "(value hidden: it may hold a password)"

// Secrets is what a program must never render of its input: the passwords of every URL or DSN
// found in it, however spelled (scheme://user:pass@host, //user:pass@host, user:pass@tcp(host)/db,
// percent-escaped, password=… and the like in a query or a keyword/value DSN), collected with Add
// from every input (arguments, environment values, lines read). Words returns a text with every
// word that holds a piece of one hidden, and every word whose own shape carries a password: the
// check is on what is rendered, so that a message that quotes its input, clips it or escapes it
// cannot show a password by a path nobody thought of. A piece is any four characters of a password
// in a row (the whole of a shorter one, with the delimiter before or after it), as written, with
// URL escapes or Go or JSON quoting, and any four characters in a row of what the program itself
// sends of it: the base64 (standard or URL alphabet, padded or not) of the password and of
// "user:password" (HTTP Basic authorization), the user and password split as net/url splits the
// URL's user-information (an empty user too). A keyword's value is found as pgx reads it: white
// space around the '=', a single-quoted value with backslash escapes. Its methods are safe for concurrent use; the zero value holds
// no secret.
type Secrets struct {
	mu      sync.RWMutex
	needles map[string][]string // by their first two bytes
	n       int
}

// Add collects the passwords in input.
func (s *Secrets) Add(input string) {
	if !strings.ContainsAny(input, "@=") {
		return
	}
	found := find(input)
	if len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.needles == nil {
		s.needles = map[string][]string{}
	}
	for _, f := range found {
		for _, n := range needles(input, f) {
			if len(n) < 2 || slices.Contains(s.needles[n[:2]], n) {
				continue
			}
			s.needles[n[:2]] = append(s.needles[n[:2]], n)
			s.n++
		}
	}
}

// Empty reports whether no secret was added.
func (s *Secrets) Empty() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n == 0
}

// Holds reports whether text holds a piece of a collected password, or a password of its own.
func (s *Secrets) Holds(text string) bool {
	if len(find(text)) > 0 {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.n == 0 {
		return false
	}
	for i := 0; i+2 <= len(text); i++ {
		for _, n := range s.needles[text[i:i+2]] {
			if strings.HasPrefix(text[i:], n) {
				return true
			}
		}
	}
	return false
}

// Words returns text with every word that holds a piece of a collected password, or whose own
// shape carries a password, replaced by Hidden. A word is a run of characters without white space;
// a Go-quoted string (which a message makes of a value) is one word with what follows it up to
// white space, spaces inside included. A piece is looked for in the whole text, so that a password
// with a space or a tab hides every word it spans.
func (s *Secrets) Words(text string) string {
	if s.Empty() && !strings.ContainsAny(text, "@=") {
		return text
	}
	marked := s.mark(text)
	var b strings.Builder
	for i := 0; i < len(text); {
		if isSpace(text[i]) {
			b.WriteByte(text[i])
			i++
			continue
		}
		j := i
		if text[i] == '"' {
			if q, err := strconv.QuotedPrefix(text[i:]); err == nil {
				j += len(q)
			}
		}
		for j < len(text) && !isSpace(text[j]) {
			j++
		}
		if w := text[i:j]; (marked != nil && slices.Contains(marked[i:j], true)) || len(find(w)) > 0 {
			b.WriteString(Hidden)
		} else {
			b.WriteString(w)
		}
		i = j
	}
	return b.String()
}

// mark returns which bytes of text lie in a piece of a collected password (nil: none).
func (s *Secrets) mark(text string) []bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.n == 0 {
		return nil
	}
	var marked []bool
	for i := 0; i+2 <= len(text); i++ {
		for _, n := range s.needles[text[i:i+2]] {
			if strings.HasPrefix(text[i:], n) {
				if marked == nil {
					marked = make([]bool, len(text))
				}
				for k := i; k < i+len(n); k++ {
					marked[k] = true
				}
			}
		}
	}
	return marked
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// found is a password found in an input: its text (as written, or decoded) and where the text as
// written lies in the input (start < 0 for a decoded form).
type found struct {
	text       string
	start, end int
	user       string // the user before it in a user-information, as written or decoded alike
	userinfo   bool   // it is a user-information's password (user may be empty: net/http sends ":password")
}

// find returns the passwords in input: user-information (after the user's ':' and before an
// '@', from the start of the input, after white space, after "//" or after "scheme:"), and the values of parameters
// and keywords whose name holds "pass", "pwd" or "secret"; each also percent-decoded. The
// password xxxxx (Mask, a display form's) is none.
func find(input string) []found {
	var out []found
	addUser := func(start, end int, user string, userinfo bool) {
		if end <= start {
			return
		}
		t := input[start:end]
		if t == Mask {
			return
		}
		out = append(out, found{t, start, end, user, userinfo})
		for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			d, err := unescape(t)
			if err != nil {
				continue
			}
			du, err := unescape(user)
			if err != nil {
				du = user
			}
			if d != t || du != user {
				out = append(out, found{d, -1, -1, du, userinfo})
			}
		}
	}
	add := func(start, end int) { addUser(start, end, "", false) }
	for i := 0; i < len(input); i++ {
		switch input[i] {
		case '@':
			// The user-information starts at the start of the input, after white space or
			// after a "//" (a password may hold these too: each is tried), and its user (up to
			// the first ':') holds no '/' and no white space.
			for st := 0; st < i; st++ {
				starts := st == 0 || isSpace(input[st-1]) || st >= 2 && input[st-2:st] == "//"
				if starts || input[st-1] == '=' { // --server=user:password@host too
					if user, pw, ok := sentUserinfo(input[st:i]); ok && pw != Mask {
						// What net/http sends of it: net/url's own split (the user up to the
						// first ':', an empty one too), whatever the reading below makes of it.
						out = append(out, found{pw, -1, -1, user, true})
					}
				}
				if !starts {
					continue
				}
				c := strings.IndexByte(input[st:i], ':')
				if c < 0 {
					continue
				}
				c += st
				if strings.ContainsFunc(input[st:c], func(r rune) bool { return r == '/' || r < 0x80 && isSpace(byte(r)) }) {
					continue
				}
				switch {
				case strings.HasPrefix(input[c+1:], "//"):
					// scheme:// (db=postgres:// in a log line too): the user-information
					// starts after the "//".
				case ValidScheme(input[st:c]) && strings.IndexByte(input[c+1:i], ':') >= 0:
					uc := c + 1 + strings.IndexByte(input[c+1:i], ':')
					addUser(uc+1, i, input[c+1:uc], true) // mysql:u:p@…
					add(c+1, i)
				default:
					addUser(c+1, i, input[st:c], true)
				}
			}
		case '=':
			// pgx's keyword/value DSNs take white space around the '='.
			e := i
			for e > 0 && isSpace(input[e-1]) {
				e--
			}
			k := e
			for k > 0 && (isKeyChar(input[k-1])) {
				k--
			}
			name := strings.ToLower(input[k:e])
			if d, err := url.QueryUnescape(name); err == nil {
				name = d
			}
			if !strings.Contains(name, "pass") && !strings.Contains(name, "pwd") && !strings.Contains(name, "secret") {
				continue
			}
			v := i + 1
			for v < len(input) && isSpace(input[v]) {
				v++
			}
			end := v
			if v < len(input) && input[v] == '\'' { // keyword/value DSN: password='a b'
				end = v + 1
				for end < len(input) && input[end] != '\'' {
					if input[end] == '\\' {
						end++
					}
					end++
				}
				add(v+1, min(end, len(input)))
				addUnescaped(&out, input[v+1:min(end, len(input))])
				continue
			}
			for end < len(input) && !isSpace(input[end]) && !strings.ContainsRune("&;,\"", rune(input[end])) {
				end++
			}
			add(v, end)
			addUnescaped(&out, input[v:end])
			// A password written raw in a query may hold '&' (password=&x or a&b): parsers cut
			// it there, but over-finding costs only a hidden word. The value as far as the next
			// "&name=" or white space is a password too.
			long := v
			for long < len(input) && !isSpace(input[long]) {
				if input[long] == '&' && long > v && startsParam(input[long+1:]) {
					break
				}
				long++
			}
			if long > end {
				add(v, long)
			}
		}
	}
	return out
}

// sentUserinfo returns the user and password of a URL whose user-information is s, as net/url
// parses it (the client's spelling: net/http sends them as HTTP Basic authorization, base64 of
// user + ":" + password), when s parses as a user-information holding a password.
func sentUserinfo(s string) (user, pw string, ok bool) {
	if !strings.Contains(s, ":") || strings.ContainsAny(s, "/?# \t\n\r\v\f") {
		return "", "", false // no password, or not a user-information net/url reads (it stops at '/', '?', '#', refuses white space)
	}
	u, err := url.Parse("http://" + s + "@h/")
	if err != nil || u.User == nil || u.Host != "h" {
		return "", "", false
	}
	pw, ok = u.User.Password()
	return u.User.Username(), pw, ok
}

// addUnescaped adds t with its backslash escapes undone (pgx's keyword/value DSNs: \' and \\ in
// a quoted value, "\ " in a plain one), when it has any.
func addUnescaped(out *[]found, t string) {
	if !strings.Contains(t, `\`) {
		return
	}
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] == '\\' && i+1 < len(t) {
			i++
		}
		b.WriteByte(t[i])
	}
	*out = append(*out, found{text: b.String(), start: -1, end: -1})
}

// startsParam reports whether s starts with a parameter's name and its '='.
func startsParam(s string) bool {
	k := 0
	for k < len(s) && isKeyChar(s[k]) {
		k++
	}
	return k > 0 && k < len(s) && s[k] == '='
}

func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '%'
}

// needles returns what must not be rendered of f, a password found in input: every run of four
// characters in a row, or for a shorter one the whole with the characters before and after it in
// the input (":ab@", "=ab&": alone, or with one delimiter, two letters are in many messages), and
// each of its non-ASCII characters; each in its encodings.
func needles(input string, f found) []string {
	var pieces []string
	rs := []rune(f.text)
	switch {
	case len(rs) >= 4:
		for i := 0; i+4 <= len(rs); i++ {
			pieces = append(pieces, string(rs[i:i+4]))
		}
	case f.start > 0:
		_, n := utf8.DecodeLastRuneInString(input[:f.start])
		before := input[f.start-n : f.end]
		if f.end < len(input) {
			_, n := utf8.DecodeRuneInString(input[f.end:])
			pieces = append(pieces, before+input[f.end:f.end+n])
		} else { // at the end: as a message would end a quoted or clipped word
			pieces = append(pieces, before+`"`, before+"…", before+" ", before+"\n")
		}
		for _, r := range rs { // a non-ASCII letter or symbol is in no message of the project
			if r >= utf8.RuneSelf {
				pieces = append(pieces, string(r))
			}
		}
	default:
		for _, r := range rs {
			if r >= utf8.RuneSelf {
				pieces = append(pieces, string(r))
			}
		}
	}
	var out []string
	for _, p := range pieces {
		out = append(out, encodings(p)...)
	}
	// What the program itself sends of it: net/http sends a URL's user-information as HTTP Basic
	// authorization, base64("user:password"); a server may echo it in the answer a command prints.
	sent := []string{f.text}
	if f.userinfo {
		sent = append(sent, f.user+":"+f.text)
	}
	for _, s := range sent {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			e := enc.EncodeToString([]byte(s))
			for i := 0; i+4 <= len(e); i++ {
				out = append(out, e[i:i+4])
			}
		}
	}
	return out
}

// encodings returns s as written, URL-escaped and Go- and JSON-quoted (without the quotes).
func encodings(s string) []string {
	q := strconv.Quote(s)
	a := strconv.QuoteToASCII(s)
	j, _ := json.Marshal(s)
	out := []string{s, url.PathEscape(s), url.QueryEscape(s), q[1 : len(q)-1], a[1 : len(a)-1], string(j[1 : len(j)-1])}
	for _, e := range out[1:3] {
		out = append(out, strings.ToLower(e))
	}
	return out
}
