package server

import (
	"slices"
	"strings"
	"testing"
)

var acceptTests = []struct {
	name   string
	accept []string
	json   bool
}{
	{"none", nil, false},
	{"empty", []string{""}, false},
	{"json", []string{"application/json"}, true},
	{"json q=0", []string{"application/json;q=0"}, false},
	{"text preferred by q", []string{"text/plain;q=1, application/json;q=0.5"}, false},
	{"text preferred, implicit q", []string{"text/plain, application/json; q=0.5"}, false},
	{"json preferred by q", []string{"application/json, text/plain;q=0.9"}, true},
	{"json preferred, listed second", []string{"text/plain;q=0.5, application/json"}, true},
	{"equal q, json named", []string{"text/plain, application/json"}, true},
	{"any", []string{"*/*"}, false},
	{"any but json", []string{"*/*, application/json;q=0"}, false},
	{"application any", []string{"application/*"}, true},
	{"application over text wildcard", []string{"application/*;q=0.9, text/*;q=0.8"}, true},
	{"text wildcard over application", []string{"text/*;q=0.9, application/*;q=0.8"}, false},
	{"specific json beats any", []string{"*/*;q=0.9, application/json;q=0.1"}, false},
	{"specific json zero beats application any", []string{"application/*, application/json;q=0"}, false},
	{"json params ignored", []string{"application/json; charset=utf-8"}, true},
	{"case", []string{"APPLICATION/JSON"}, true},
	{"q upper case", []string{"text/plain;Q=0.1, application/json;Q=0.2"}, true},
	{"lines", []string{"text/plain;q=0.1", "application/json"}, true},
	{"q over 1", []string{"application/json;q=1.5"}, false},
	{"q word", []string{"application/json;q=abc"}, false},
	{"q nan", []string{"application/json;q=NaN"}, false},
	{"q exponent", []string{"application/json;q=1e-3"}, false},
	{"q four decimals", []string{"application/json;q=0.0001"}, false},
	{"q smallest", []string{"application/json;q=0.001"}, true},
	{"q one point zero", []string{"application/json;q=1.000, text/plain;q=0.999"}, true},
	{"jsonx", []string{"application/jsonx"}, false},
	{"garbage", []string{",,;;,"}, false},
	{"quoted comma", []string{`text/plain;x="a,application/json"`}, false},
	{"no slash", []string{"json"}, false},
	{"bad among good", []string{"application/json;;q=x, nonsense, application/json"}, true},
}

func TestAcceptsJSON(t *testing.T) {
	for _, c := range acceptTests {
		t.Run(c.name, func(t *testing.T) {
			if got := acceptsJSON(c.accept); got != c.json {
				t.Errorf("acceptsJSON(%q) = %v, want %v", c.accept, got, c.json)
			}
		})
	}
}

// FuzzAcceptsJSON checks properties of the negotiation: the order of the media ranges does not
// matter, nor does white space around separators; naming application/json (q=1) where the header
// does not name it makes the answer JSON, and naming it with q=0 makes it text.
func FuzzAcceptsJSON(f *testing.F) {
	for _, c := range acceptTests {
		f.Add(strings.Join(c.accept, ","))
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := acceptsJSON([]string{accept})
		ranges := splitRanges(accept)
		rev := slices.Clone(ranges)
		slices.Reverse(rev)
		if r := acceptsJSON([]string{strings.Join(rev, ",")}); r != got {
			t.Fatalf("acceptsJSON(%q) = %v, but %v with the ranges reversed", accept, got, r)
		}
		spaced := strings.Join(rev, " , ")
		if r := acceptsJSON([]string{spaced}); r != got {
			t.Fatalf("acceptsJSON(%q) = %v, but %v with spaces around commas", accept, got, r)
		}
		if namesJSON(ranges) {
			return
		}
		if !acceptsJSON([]string{accept, "application/json"}) {
			t.Fatalf("acceptsJSON(%q + application/json) = false", accept)
		}
		if acceptsJSON([]string{accept, "application/json;q=0"}) {
			t.Fatalf("acceptsJSON(%q + application/json;q=0) = true", accept)
		}
	})
}

// namesJSON reports whether a range could be read as application/json itself.
func namesJSON(ranges []string) bool {
	for _, r := range ranges {
		if strings.Contains(strings.ToLower(r), "json") {
			return true
		}
	}
	return false
}
