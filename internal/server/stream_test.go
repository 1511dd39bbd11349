package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// TestIDsStreamed: a batch larger than one chunk comes whole and increasing, as text and as JSON.
func TestIDsStreamed(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	a := do(t, "GET", url+"/ids?n=100000")
	lines := strings.Split(strings.TrimSuffix(a.body, "\n"), "\n")
	if a.code != 200 || len(lines) != 100000 {
		t.Fatalf("text: %d, %d lines", a.code, len(lines))
	}
	checkIncreasing(t, lines, 100000)
	a = do(t, "GET", url+"/ids?n=10000", "Accept", "application/json")
	var body struct{ IDs []string }
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || len(body.IDs) != 10000 {
		t.Fatalf("json: %d, %v, %d IDs", a.code, err, len(body.IDs))
	}
	checkIncreasing(t, body.IDs, 10000)
}

// failAfter issues from g until it has filled limit IDs, then fails.
type failAfter struct {
	*snowfall.Generator
	left atomic.Int64
}

func (f *failAfter) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	if f.left.Add(-int64(len(ids))) < 0 {
		return 0, &snowfall.FenceError{Cause: errors.New("test")}
	}
	return f.Generator.Fill(ctx, ids)
}

// TestIDsCutOff: when the source stops in the middle of a long batch, the answer is cut off, so the
// client sees an error rather than a short list that looks whole.
func TestIDsCutOff(t *testing.T) {
	src := &failAfter{Generator: newGenerator(t, snowfall.Settings{})}
	src.left.Store(5000)
	url := newServer(t, src, server.Config{})
	resp, err := http.Get(url + "/ids?n=20000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("a batch cut off in the middle read without error")
	}
}

// TestAcceptAndHeaders: Accept is parsed as media types (q=0 means no), and every answer, 503s and
// errors included, carries nosniff and no-store.
func TestAcceptAndHeaders(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	for _, c := range []struct{ accept, ctype string }{
		{"application/json", "application/json"},
		{"application/json;q=0", "text/plain; charset=utf-8"},
		{"text/plain, application/json; q=0.5", "application/json"},
		{"application/jsonx", "text/plain; charset=utf-8"},
		{"*/*", "text/plain; charset=utf-8"},
	} {
		if a := do(t, "GET", url+"/ids?n=2", "Accept", c.accept); a.header.Get("Content-Type") != c.ctype {
			t.Errorf("Accept %q: Content-Type %q, want %q", c.accept, a.header.Get("Content-Type"), c.ctype)
		}
	}
	check := func(what string, a answer) {
		t.Helper()
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v lack nosniff or no-store", what, a.header)
		}
	}
	for _, path := range []string{"/", "/ids?n=0", "/nope", "/stats", "/decode/1", "/metrics", "/livez"} {
		check(path, do(t, "GET", url+path))
	}
	check("POST /", do(t, "POST", url+"/"))
	g.Revoke(nil)
	check("503", do(t, "GET", url+"/"))
}
