package server_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// nopWriter is a ResponseWriter that keeps nothing, so benchmarks measure the handler alone.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchHandler(b *testing.B, path string) {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 1}})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(server.Config{Source: g})
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
