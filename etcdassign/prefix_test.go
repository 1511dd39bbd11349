package etcdassign

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPrefixCanonical: every spelling of a key prefix names one key space: slashes doubled,
// leading or trailing, and escaped letters or slashes make no second manifest. A spelling that
// etcd would take as another key ("." and ".." segments: etcd keys are bytes, not paths) is
// refused. The search is seeded: a failure names its seed and spelling.
func TestPrefixCanonical(t *testing.T) {
	fixed := []struct{ path, prefix string }{
		{"", "/snowfall/"},
		{"/", "/snowfall/"},
		{"//", "/snowfall/"},
		{"/snowfall", "/snowfall/"},
		{"/snowfall/", "/snowfall/"},
		{"//snowfall", "/snowfall/"},
		{"/snowfall//", "/snowfall/"},
		{"/a//b", "/a/b/"},
		{"/a/b///", "/a/b/"},
		{"/a%2Fb", "/a/b/"},
		{"/a%2F%2Fb", "/a/b/"},
		{"/%73nowfall", "/snowfall/"},
		{"/a/./b", ""},
		{"/a/../b", ""},
		{"/./snowfall", ""},
		{"/snowfall/..", ""},
	}
	for _, c := range fixed {
		got, err := parseURL("etcd://h:1"+c.path, "")
		switch {
		case c.prefix == "" && err == nil:
			t.Errorf("path %q: prefix %q, want an error", c.path, got.prefix)
		case c.prefix == "" && !strings.Contains(err.Error(), "key prefix"):
			t.Errorf("path %q: %v, want an error about the key prefix", c.path, err)
		case c.prefix != "" && err != nil:
			t.Errorf("path %q: %v", c.path, err)
		case c.prefix != "" && got.prefix != c.prefix:
			t.Errorf("path %q: prefix %q, want %q", c.path, got.prefix, c.prefix)
		}
	}
	segs := []string{"snowfall", "a", "b.c", "x-y_z", "ids", "."}
	for seed := range uint64(2000) {
		r := rand.New(rand.NewPCG(seed, 1))
		var parts []string
		for range 1 + r.IntN(3) {
			parts = append(parts, segs[r.IntN(len(segs)-1)]) // no "." in the canonical form
		}
		var b strings.Builder
		for range r.IntN(3) {
			b.WriteString(pick(r, "/", "%2F", "%2f"))
		}
		for i, p := range parts {
			if i > 0 || r.IntN(2) == 0 {
				b.WriteString("/")
			}
			for range r.IntN(2) {
				b.WriteString(pick(r, "/", "%2F"))
			}
			if r.IntN(4) == 0 {
				p = fmt.Sprintf("%%%02X", p[0]) + p[1:]
			}
			b.WriteString(p)
		}
		for range r.IntN(3) {
			b.WriteString(pick(r, "/", "%2F"))
		}
		path := b.String()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		got, err := parseURL("etcd://h:1"+path, "g")
		want := "/" + strings.Join(parts, "/") + "/g/"
		if err != nil || got.prefix != want {
			t.Fatalf("seed %d: path %q: prefix %q, %v; want %q", seed, path, got.prefix, err, want)
		}
	}
}

func pick(r *rand.Rand, s ...string) string { return s[r.IntN(len(s))] }
