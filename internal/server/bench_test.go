package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// nopWriter is a ResponseWriter that keeps nothing, so benchmarks measure the handler alone.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// heldGenerator is a generator that reports a held lease with every field set.
type heldGenerator struct{ *snowfall.Generator }

func (g heldGenerator) Lease() snowfall.LeaseStatus {
	now := time.Now()
	return snowfall.LeaseStatus{GeneratorID: 1, State: "held", Expires: now.Add(20 * time.Second), Mark: now.Add(5 * time.Second),
		Renewals: 100, Failures: 1, Losses: 1, LastRenewal: now.Add(-10 * time.Second)}
}

func benchHandler(b *testing.B, path string) { benchSource(b, path, false) }

// benchSource measures the handler of path, for a source that holds a lease when leased.
func benchSource(b *testing.B, path string, leased bool) {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 1}})
	if err != nil {
		b.Fatal(err)
	}
	var src snowfall.Source = g
	if leased {
		src = heldGenerator{g}
	}
	srv, err := server.New(server.Config{Source: src})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	req := httptest.NewRequest("GET", path, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}

func BenchmarkHandlerID(b *testing.B)      { benchHandler(b, "/") }
func BenchmarkHandlerIDs4096(b *testing.B) { benchHandler(b, "/ids?n=4096") }
func BenchmarkHandlerStats(b *testing.B)   { benchHandler(b, "/stats") }

func BenchmarkHandlerStatsLeased(b *testing.B) { benchSource(b, "/stats", true) }
