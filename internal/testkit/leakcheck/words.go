package leakcheck

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Words is a generated test of a command's input: a URL or DSN with a generated password, in one
// of Forms' spellings, put in one of the command's places (an argument, a flag, an environment
// variable, a line of input), must show no piece of the password in anything the command prints.
type Words struct {
	// Env prefixes the variables that replay cases: <Env>_WORDS_SEED (1 by default),
	// <Env>_WORDS_CASES (Cases by default), <Env>_WORDS_CASE (one case, printed with -v).
	Env   string
	Cases int
	// Places counts the command's places; Place names one.
	Places int
	Place  func(place int) string
	// Line reports whether a place is a line of input: a password's newlines there become
	// letters (a raw newline would make two lines, and the second is no URL).
	Line func(place int) bool
	// Command runs the command with word in place and returns everything it printed.
	Command func(place int, word string) string
}

// Run runs w's cases (case i draws its password, form and place from seed and i) and returns how
// many leaked; each of the first 30 leaks is a test error. A fragment of four characters or more
// is a leak unless the run with a sibling password prints it too; a one to three letter password
// leaks when the output depends on it (see the package comment).
func (w Words) Run(t *testing.T) int {
	t.Helper()
	num := func(name string, def int) int { return EnvNum(t, name, def) }
	seed := uint64(num(w.Env+"_WORDS_SEED", 1))
	first, last := 0, num(w.Env+"_WORDS_CASES", w.Cases)
	if os.Getenv(w.Env+"_WORDS_CASE") != "" {
		first = num(w.Env+"_WORDS_CASE", 0)
		last = first + 1
	}
	leaks := 0
	for i := first; i < last; i++ {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		pw, f, place := Generate(r), Forms[r.IntN(len(Forms))], r.IntN(w.Places)
		line := w.Line != nil && w.Line(place)
		oneLine := func(p Password) Password {
			if line {
				p.Text = strings.NewReplacer("\n", "n", "\r", "r").Replace(p.Text)
			}
			return p
		}
		pw = oneLine(pw)
		sib := oneLine(pw.Sibling(rand.New(rand.NewPCG(seed, uint64(i)+1<<32))))
		desc := fmt.Sprintf("%s in %s (password class %s)", f.Name, w.Place(place), pw.Class)
		out := w.Command(place, f.Make(pw.Text))
		if testing.Verbose() && first+1 == last {
			t.Logf("case %d: %s\n%s", i, desc, out)
		}
		var leak string
		if pw.Class == Letters {
			if sib.Text != pw.Text && Normalize(out) != Normalize(w.Command(place, f.Make(sib.Text))) {
				leak = "the output depends on the password"
			}
		} else if hits := NewFinder(pw).Find(out); len(hits) > 0 {
			control := w.Command(place, f.Make(sib.Text))
			for _, h := range hits {
				if pw.Class == Marker || !strings.Contains(control, h.Encoded) {
					leak = fmt.Sprintf("%q as %q in …%s…", h.Fragment, h.Encoded, Excerpt(out, h.At))
					break
				}
			}
		}
		if leak != "" {
			leaks++
			if leaks <= 30 {
				t.Errorf("case %d (%s_WORDS_SEED=%d %s_WORDS_CASE=%d): %s: password %q: %s", i, w.Env, seed, w.Env, i, desc, pw.Text, leak)
			}
		}
	}
	t.Logf("words: cases=%d leaks=%d (seed %d)", last-first, leaks, seed)
	return leaks
}

// EnvNum returns the whole number in the environment variable name, or def when it is unset; a
// value that is not a whole number fails the test.
func EnvNum(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		t.Fatalf("%s=%q: want a whole number", name, s)
	}
	return v
}
