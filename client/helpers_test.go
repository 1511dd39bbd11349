package client

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// testServer is a real ID server on a random loopback port, over its own generator.
type testServer struct {
	*httptest.Server
	gen  *snowfall.Generator
	hits atomic.Int64 // requests received
}

// startServer starts an ID server whose generator has id gen; the test closes it.
func startServer(t testing.TB, gen int64) *testServer {
	t.Helper()
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: gen}})
	if err != nil {
		t.Fatalf("snowfall.New: %v", err)
	}
	srv, err := server.New(server.Config{Source: g})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts := &testServer{gen: g}
	h := srv.Handler()
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// startHandler serves h on a random loopback port; the test closes it.
func startHandler(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

// newClient returns a client that the test closes.
func newClient(t testing.TB, base string, opts ...Option) *Client {
	t.Helper()
	c, err := New(base, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", base, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// generatorOf returns the generator field of id under the default layout.
func generatorOf(t testing.TB, id snowfall.ID) int64 {
	t.Helper()
	p, err := snowfall.DefaultLayout().Decode(id)
	if err != nil {
		t.Fatalf("Decode(%d): %v", id, err)
	}
	return p.Generator
}

// withNow makes a client read time from now.
func withNow(now func() time.Time) Option {
	return func(c *config) error {
		c.now = now
		return nil
	}
}
