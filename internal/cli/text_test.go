package cli

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzField: a field is one word without a control, bidi or non-UTF-8 byte, and reads back to its
// text: as it is, or through strconv.Unquote.
func FuzzField(f *testing.F) {
	for _, s := range []string{"web-7", "", "a b", "\x1b[31mred", "\u202eevil", "\xff\xc3", `"q"`, `\`, "\u0085", "é中", "a\nb\tc\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Field(s)
		if strings.ContainsFunc(got, func(r rune) bool { return r == utf8.RuneError || !strconv.IsPrint(r) }) {
			t.Fatalf("Field(%q) = %q holds a character that is not printable", s, got)
		}
		back := got
		if strings.HasPrefix(got, `"`) {
			var err error
			if back, err = strconv.Unquote(got); err != nil {
				t.Fatalf("Field(%q) = %q does not unquote: %v", s, got, err)
			}
		} else if strings.ContainsRune(got, ' ') {
			t.Fatalf("Field(%q) = %q: a plain field with a space", s, got)
		}
		if back != s {
			t.Fatalf("Field(%q) = %q reads back as %q", s, got, back)
		}
		if p := Printable(s, false); strings.ContainsFunc(p, func(r rune) bool { return r == utf8.RuneError || !strconv.IsPrint(r) }) {
			t.Fatalf("Printable(%q) = %q", s, p)
		}
	})
}
