package cli

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Printable returns s with every character a terminal could take for a command written as an
// escape, Go's way (\x1b, \u0085, \u202e, \xff for a byte that is not UTF-8): C0 and C1 controls
// (tab and newline too when keepLines is false), DEL, bidirectional overrides and every other
// character that is not printable. The rest is left as it is, so that plain text reads the same.
func Printable(s string, keepLines bool) string {
	clean := true
	for _, r := range s {
		if !printable(r, keepLines) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case printable(r, keepLines):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

func printable(r rune, keepLines bool) bool {
	if r == '\n' || r == '\t' {
		return keepLines
	}
	return r != utf8.RuneError && strconv.IsPrint(r)
}

// Field returns s as one field of a line that programs read (a host name, a probe's answer, a
// server's words): as it is when it is not empty and holds only printable characters other than
// space; else Go-quoted, every non-printable character escaped (strconv.QuoteToGraphic would keep
// some). The output reads back with strconv.Unquote.
func Field(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || r == '"' || !printable(r, false) }) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case r == '"' || r == '\\':
			b.WriteString(`\` + string(r))
		case printable(r, false) || r == ' ':
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	b.WriteByte('"')
	return b.String()
}
