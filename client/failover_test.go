package client

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// hungServer accepts requests and never answers them (a paused process: the kernel still accepts
// its connections); it counts the requests.
func hungServer(t *testing.T) (string, *atomic.Int64) {
	var hits atomic.Int64
	ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		<-r.Context().Done()
	})
	return ts.URL, &hits
}

// callWithin calls NextID with a deadline and fails the test unless it returns an ID within it.
func callWithin(t *testing.T, c *Client, deadline time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	if _, err := c.NextID(ctx); err != nil {
		t.Fatalf("NextID with a %v deadline: %v", deadline, err)
	}
	return time.Since(start)
}

// TestHungFirstServer: the first server of a failover client hangs (issue 20: every call waited on
// it until the caller's deadline, and the next call went to it again). Every call gets an ID within
// its 1 s deadline, and after the first call the hung server is left alone.
func TestHungFirstServer(t *testing.T) {
	hung, hits := hungServer(t)
	good := startServer(t, 2)
	c := newClient(t, hung, WithServers(good.URL))
	for i := range 20 {
		if d := callWithin(t, c, time.Second); i > 0 && d > 500*time.Millisecond {
			t.Errorf("call %d took %v with the hung server known", i, d)
		}
	}
	// It is asked again when its back-off ends, at most once per back-off.
	if n := hits.Load(); n > 3 {
		t.Errorf("the hung server got %d requests over 20 calls, want it left alone after the first", n)
	}
}

// TestRoundRobinEjectsHungServer: with round-robin over three servers, one of which hangs, the
// hung one does not get every third call.
func TestRoundRobinEjectsHungServer(t *testing.T) {
	hung, hits := hungServer(t)
	a, b := startServer(t, 1), startServer(t, 2)
	c := newClient(t, a.URL, WithServers(hung, b.URL), WithPolicy(RoundRobin))
	for range 60 {
		callWithin(t, c, time.Second)
	}
	if n := hits.Load(); n > 6 {
		t.Errorf("the hung server got %d of 60 round-robin calls, want it ejected", n)
	}
	if a.hits.Load() == 0 || b.hits.Load() == 0 {
		t.Errorf("requests per good server = %d, %d; want both used", a.hits.Load(), b.hits.Load())
	}
}

// TestPrefetchHungServer: a prefetching client whose first server hangs still fills its buffer
// from the other, within the callers' deadlines.
func TestPrefetchHungServer(t *testing.T) {
	hung, _ := hungServer(t)
	good := startServer(t, 2)
	c := newClient(t, hung, WithServers(good.URL), WithPrefetch(16, 4, 0))
	for range 100 {
		callWithin(t, c, time.Second)
	}
}

// TestWhollyHungFleet: when every server hangs, a call without a deadline fails with an
// AllFailedError after about one timeout (not the sum of four), and once the servers are known to
// hang, the next calls fail promptly.
func TestWhollyHungFleet(t *testing.T) {
	var urls []string
	for range 4 {
		u, _ := hungServer(t)
		urls = append(urls, u)
	}
	const timeout = 400 * time.Millisecond
	c := newClient(t, urls[0], WithServers(urls[1:]...), WithTimeout(timeout))
	for i := range 3 {
		start := time.Now()
		_, err := c.NextID(context.Background())
		d := time.Since(start)
		var all *AllFailedError
		if !errors.As(err, &all) || len(all.Failures) != 4 {
			t.Fatalf("call %d: NextID = %v, want an AllFailedError with 4 failures", i, err)
		}
		limit := 2 * timeout
		if i > 0 {
			limit = timeout
		}
		if d > limit {
			t.Errorf("call %d took %v to fail on a hung fleet, want under %v", i, d, limit)
		}
	}
}

// TestRetryAfterPerServer: a 503 with Retry-After keeps that server, and only it, out of turn for
// the time it asks; then it is asked again.
func TestRetryAfterPerServer(t *testing.T) {
	var fenced atomic.Bool
	fenced.Store(true)
	var aHits atomic.Int64
	b := startServer(t, 2)
	a := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			b.Config.Handler.ServeHTTP(w, r) // GET /stats: the other server's layout
			return
		}
		aHits.Add(1)
		if fenced.Load() {
			w.Header().Set("Retry-After", "3")
			http.Error(w, `{"error":"fenced"}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("12345"))
	})
	c := newClient(t, a.URL, WithServers(b.URL), WithBackoff(10*time.Millisecond))
	start := time.Now()
	for range 10 {
		callWithin(t, c, time.Second)
	}
	// 3 s, not 1 s, for room under -race on a loaded machine: past the Retry-After, asking the
	// first server again is right. (It once failed in 15 ms: the layout request's GET /stats,
	// which the fenced server answers, cleared its back-off; only answers with IDs do now.)
	if n, d := aHits.Load(), time.Since(start); n != 1 && d < 3*time.Second {
		t.Errorf("the server that asked for 3 s got %d requests in the next calls (%v), want 1", n, d)
	}
	fenced.Store(false)
	time.Sleep(time.Until(start.Add(3100 * time.Millisecond)))
	before := b.hits.Load()
	callWithin(t, c, time.Second)
	if aHits.Load() != 2 || b.hits.Load() != before {
		t.Errorf("after its Retry-After the first server got %d requests and the second %d more; want the first asked again",
			aHits.Load(), b.hits.Load()-before)
	}
}
