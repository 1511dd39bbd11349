package client

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkNextID takes IDs from an in-process server with the real generator over loopback HTTP,
// with and without prefetch, from one goroutine and from GOMAXPROCS goroutines.
func BenchmarkNextID(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"direct", nil},
		{"prefetch", []Option{WithPrefetch(2*MaxBatch, MaxBatch, time.Second)}},
	} {
		b.Run(bc.name+"/serial", func(b *testing.B) {
			ts := startServer(b, 1)
			c := newClient(b, ts.URL, bc.opts...)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.NextID(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ids/s")
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			ts := startServer(b, 1)
			c := newClient(b, ts.URL, bc.opts...)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.NextID(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ids/s")
		})
	}
}

// BenchmarkNextIDs takes batches of 4096 IDs.
func BenchmarkNextIDs(b *testing.B) {
	ts := startServer(b, 1)
	c := newClient(b, ts.URL)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.NextIDs(ctx, 4096); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*4096/b.Elapsed().Seconds(), "ids/s")
}

// BenchmarkStdlibGet is the baseline for NextID without prefetch: GET / through a plain
// http.Client with a default transport, reading the body and nothing more.
func BenchmarkStdlibGet(b *testing.B) {
	ts := startServer(b, 1)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Get(ts.URL + "/")
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
