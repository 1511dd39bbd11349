// Package leakcheck generates passwords for the secrets test (cmd/snowfall TestSecretsGenerated)
// and finds what of a password a command's output shows.
//
// A password of four characters or more leaks when any four consecutive characters of it appear in
// the output, as written or in any encoding a message or log could give them (URL escapes, Go and
// JSON quoting, PostgreSQL keyword quoting, and any two of these in a row). Such a fragment may
// also be the program's own text by chance; Find's caller reruns the case with a sibling password
// (Sibling: the same length and class, other characters) and counts the fragment as a leak only
// when the sibling's output does not hold it too.
//
// A shorter password cannot be checked by searching for it: one letter is in every message. Two
// kinds are generated instead. Marker passwords are made of characters (Markers) that nothing but
// the password can put into the output, so that any of them in the output, in any encoding, is a
// leak. Letter passwords hold at least one ASCII letter; the case runs again with the letters
// replaced (Sibling), which keeps every parse on the same path, and the two outputs, with digits
// and durations normalised (Normalize), must be equal: an output that depends on which letter the
// password was reveals it, whether it prints the letter or garbles the text around it.
package leakcheck

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Class is the kind of a generated password.
type Class string

// The classes of passwords.
const (
	ASCII   Class = "ascii"   // printable ASCII, space included, 4 to 64 characters
	Delims  Class = "delims"  // half URL and DSN delimiters (@ / ? # & = : % ' " \ space …), 4 to 64
	Unicode Class = "unicode" // printable ASCII and non-ASCII letters and symbols, 4 to 64
	Control Class = "control" // printable ASCII with newlines, tabs, carriage returns, DEL, 4 to 64
	Marker  Class = "marker"  // 1 to 3 Markers
	Letters Class = "letters" // 1 to 3 printable ASCII, at least one letter
)

// Markers are the characters of Marker passwords: non-ASCII letters and symbols that no message,
// log record or answer of the project contains.
var Markers = []rune("ßÆØÐÞŁŒŊЖЯЮФЩΨΩΔΣλ€£¥§¶†‡★☃☂♞中文字ヱヲ가나😀😺🦊")

// nonASCII are the non-ASCII characters of Unicode passwords.
var nonASCII = []rune("äöüßéèçñøåÆœЖжЯяλΩΣ€£¥©®°±µ¶·¿¡中文字日本語한국어😀🦊☃𝄞\u00a0\u2028\u200b")

// delims are the characters that mean something in a URL or a DSN.
const delims = "@/?#&=:%;,+'\"\\ []{}()<>|`^!$*~."

// Password is a generated password.
type Password struct {
	Text  string
	Class Class
}

// Generate returns a password of a class chosen by r.
func Generate(r *rand.Rand) Password {
	classes := []Class{ASCII, ASCII, Delims, Delims, Unicode, Control, Marker, Letters}
	c := classes[r.IntN(len(classes))]
	n := 4 + r.IntN(61)
	if c == Marker || c == Letters {
		n = 1 + r.IntN(3)
	}
	return Password{Text: gen(r, c, n), Class: c}
}

// Sibling returns a password of p's class and length in characters, made of other characters
// where the class allows it: for Letters, p with each letter replaced by another of the same case
// (so that every parser takes the same path); for the others, a fresh password.
func (p Password) Sibling(r *rand.Rand) Password {
	n := utf8.RuneCountInString(p.Text)
	if p.Class != Letters {
		for {
			s := gen(r, p.Class, n)
			if s != p.Text || n == 0 {
				return Password{Text: s, Class: p.Class}
			}
		}
	}
	b := []byte(p.Text)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z':
			b[i] = 'a' + (c-'a'+1+byte(r.IntN(25)))%26
		case 'A' <= c && c <= 'Z':
			b[i] = 'A' + (c-'A'+1+byte(r.IntN(25)))%26
		}
	}
	return Password{Text: string(b), Class: p.Class}
}

func gen(r *rand.Rand, c Class, n int) string {
	printable := func() rune { return rune(0x20 + r.IntN(0x7f-0x20)) }
	var b strings.Builder
	letter := false
	for i := 0; i < n; i++ {
		var ch rune
		switch c {
		case ASCII:
			ch = printable()
		case Delims:
			if r.IntN(2) == 0 {
				ch = rune(delims[r.IntN(len(delims))])
			} else {
				ch = rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.IntN(62)])
			}
		case Unicode:
			if r.IntN(2) == 0 {
				ch = nonASCII[r.IntN(len(nonASCII))]
			} else {
				ch = printable()
			}
		case Control:
			if r.IntN(4) == 0 {
				ch = rune("\n\t\r\x7f\v\f"[r.IntN(6)])
			} else {
				ch = printable()
			}
		case Marker:
			ch = Markers[r.IntN(len(Markers))]
		case Letters:
			ch = printable()
			if ch >= '0' && ch <= '9' { // digits are normalised away: keep them out
				ch = 'q'
			}
			if i == n-1 && !letter {
				ch = rune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[r.IntN(52)])
			}
			letter = letter || ('a' <= ch && ch <= 'z') || ('A' <= ch && ch <= 'Z')
		}
		b.WriteRune(ch)
	}
	return b.String()
}

// encoders are the ways a message or log record may write text: as it is, URL-escaped, quoted by
// Go, JSON and PostgreSQL's keyword/value rules.
var encoders = []func(string) string{
	func(s string) string { return s },
	url.PathEscape,
	url.QueryEscape,
	func(s string) string { return strings.TrimPrefix(url.UserPassword("u", s).String(), "u:") },
	func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },
	func(s string) string { q := strconv.QuoteToASCII(s); return q[1 : len(q)-1] },
	func(s string) string { b, _ := json.Marshal(s); return string(b[1 : len(b)-1]) },
	func(s string) string {
		var b strings.Builder
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		e.Encode(s)
		q := strings.TrimSpace(b.String())
		return q[1 : len(q)-1]
	},
	func(s string) string { return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) },
}

// Encodings returns s in every encoding and every pair of encodings in a row, without repeats.
func Encodings(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e1 := range encoders {
		for _, e2 := range encoders {
			v := e2(e1(s))
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
			if l := strings.ToLower(v); strings.Contains(v, "%") && !seen[l] { // %2f as well as %2F
				seen[l] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// Fragments returns the strings whose presence in an output reveals pw: for a password of four
// characters or more, every run of four consecutive characters; for a Marker password, each of
// its characters; none for a Letters password (see Normalize).
func Fragments(p Password) []string {
	rs := []rune(p.Text)
	switch {
	case p.Class == Marker:
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = string(r)
		}
		return out
	case len(rs) < 4:
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for i := 0; i+4 <= len(rs); i++ {
		if f := string(rs[i : i+4]); !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// Hit is a fragment of a password found in an output, in one of its encodings.
type Hit struct {
	Fragment, Encoded string
	At                int // byte offset in the output
}

// Finder finds the fragments of one password in outputs.
type Finder struct {
	byPrefix map[string][]needle // by the first 3 bytes of each encoded fragment
}

type needle struct{ fragment, encoded string }

// NewFinder returns a Finder for the fragments of p in all their encodings.
func NewFinder(p Password) *Finder {
	f := &Finder{byPrefix: map[string][]needle{}}
	for _, fr := range Fragments(p) {
		for _, e := range Encodings(fr) {
			k := e[:min(3, len(e))]
			f.byPrefix[k] = append(f.byPrefix[k], needle{fr, e})
		}
	}
	return f
}

// Find returns the fragments out holds, each once, with the first encoding and place found.
func (f *Finder) Find(out string) []Hit {
	var hits []Hit
	seen := map[string]bool{}
	for i := 0; i < len(out); i++ {
		for n := 1; n <= 3 && i+n <= len(out); n++ {
			for _, nd := range f.byPrefix[out[i:i+n]] {
				if !seen[nd.fragment] && strings.HasPrefix(out[i:], nd.encoded) {
					seen[nd.fragment] = true
					hits = append(hits, Hit{Fragment: nd.fragment, Encoded: nd.encoded, At: i})
				}
			}
		}
	}
	return hits
}

var (
	durationRE = regexp.MustCompile(`[0-9]+(\.[0-9]+)?(ns|µs|us|ms|s|m|h)\b`)
	// digitsRE matches a number, with its fraction and exponent: a figure that varies from run to
	// run (a CPU time of 0 or 0.01, a byte count of 1.1e+06) must read the same in both outputs.
	digitsRE  = regexp.MustCompile(`[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?`)
	pointerRE = regexp.MustCompile(`0x[0-9a-f]+`)
	// waitingRE matches the notice a command gives when a step on the database takes over a
	// second: whether it comes depends on the store's speed (etcd checks a password with bcrypt),
	// not on the password. The error line that follows names the store as the notice does.
	waitingRE = regexp.MustCompile(`(?m)^.*waiting for the database at .*\n`)
)

// Normalize returns out with durations, pointers (%#v) and numbers (times, ports, process ids,
// ids, figures) replaced by placeholders, and without the notices of a slow database step, for comparing
// the outputs of a case run with two Letters passwords.
func Normalize(out string) string {
	out = waitingRE.ReplaceAllString(out, "")
	out = pointerRE.ReplaceAllString(out, "<pointer>")
	return digitsRE.ReplaceAllString(durationRE.ReplaceAllString(out, "<dur>"), "#")
}

// Excerpt returns up to 60 bytes of out around offset at, for a report.
func Excerpt(out string, at int) string {
	lo, hi := max(at-30, 0), min(at+30, len(out))
	for lo > 0 && !utf8.RuneStart(out[lo]) {
		lo--
	}
	for hi < len(out) && !utf8.RuneStart(out[hi]) {
		hi++
	}
	return out[lo:hi]
}
