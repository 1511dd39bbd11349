package cli

import (
	"flag"
	"strings"
	"testing"
)

// TestUnknownFlagNotClipped (generated case SSSS_WORDS_SEED=3 case 118: --root: q=@tcp(…) printed
// "flag provided but not defined: -root: q", the flag package's clip of the word at its '=', which
// showed a piece of the password " q=" below what the guard recognises): an unknown flag is named
// by its word whole, never cut at its '='.
func TestUnknownFlagNotClipped(t *testing.T) {
	for _, c := range []struct {
		arg   string
		named bool
	}{
		{"--nope", true},
		{"-nope", true},
		{"--root: q=@tcp(127.0.0.1:1)/test", false},
		{"--nope=1", false},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.Int("n", 0, "")
		var out, errb strings.Builder
		err := Spec{}.Parse(fs, []string{c.arg}, IO{Out: &out, Err: &errb})
		if err == nil {
			t.Fatalf("%q: accepted", c.arg)
		}
		name, _, _ := strings.Cut(strings.TrimLeft(c.arg, "-"), "=")
		if !strings.Contains(err.Error(), Quoted(c.arg)) && strings.Contains(err.Error(), name) != c.named {
			t.Errorf("%q: error %q; want the word whole (quoted) or the name shown %v", c.arg, err, c.named)
		}
	}
}
