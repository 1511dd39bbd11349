package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

// TestPrefetchNoDuplicates drains many refills with 16 goroutines and a small buffer.
func TestPrefetchNoDuplicates(t *testing.T) {
	ts := startServer(t, 1)
	c := newClient(t, ts.URL, WithPrefetch(64, 16, time.Minute))
	ids := collect(t, 16, 500, func() ([]snowfall.ID, error) { return nextOne(c) })
	checkUnique(t, ids)
	if got, want := len(ids), 16*500; got != want {
		t.Errorf("got %d IDs, want %d", got, want)
	}
}

// TestPrefetchDropsAged moves a fake clock past the maximum age: the rest of the first batch is
// dropped, never handed out, and the next ID comes from a new batch.
func TestPrefetchDropsAged(t *testing.T) {
	ts := startServer(t, 1)
	clk := fakeclock.New(time.Now())
	c := newClient(t, ts.URL, WithPrefetch(100, 10, time.Second), withNow(clk.Now))
	ctx := context.Background()
	first, err := c.NextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NextID(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Add(1500 * time.Millisecond)
	before := ts.hits.Load()
	next, err := c.NextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.pre.mu.Lock()
	dropped := c.pre.dropped
	c.pre.mu.Unlock()
	if dropped != 98 {
		t.Errorf("dropped %d IDs, want the 98 left of the first batch", dropped)
	}
	if ts.hits.Load() == before {
		t.Errorf("no request after the batch aged, want a refill")
	}
	if next <= first {
		t.Errorf("ID after the drop = %d, want more than %d", next, first)
	}
}

// TestPrefetchFreshOnRealClock checks with the real clock that an ID handed out after a pause longer
// than the maximum age carries a time no older than the pause.
func TestPrefetchFreshOnRealClock(t *testing.T) {
	ts := startServer(t, 1)
	c := newClient(t, ts.URL, WithPrefetch(1000, 10, 50*time.Millisecond))
	ctx := context.Background()
	if _, err := c.NextID(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	start := time.Now()
	id, err := c.NextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := snowfall.DefaultLayout().Decode(id)
	if err != nil {
		t.Fatal(err)
	}
	if age := start.Sub(p.Time); age > 50*time.Millisecond {
		t.Errorf("ID %d is %v old when handed out, want at most the 50ms maximum age", id, age)
	}
}

func TestPrefetchError(t *testing.T) {
	t.Run("dead port", func(t *testing.T) {
		c := newClient(t, deadURL(t), WithPrefetch(10, 2, 0))
		if _, err := c.NextID(context.Background()); err == nil {
			t.Fatal("NextID from a dead port succeeded")
		}
	})
	t.Run("fenced then granted", func(t *testing.T) {
		ts := fencedServer(t, 1)
		c := newClient(t, ts.URL, WithPrefetch(10, 2, 0))
		_, err := c.NextID(context.Background())
		var se *ServerError
		if !errors.As(err, &se) || se.Status != 503 {
			t.Fatalf("NextID error = %v, want a 503 ServerError", err)
		}
		ts.gen.Grant(snowfall.Permit{})
		if _, err := c.NextID(context.Background()); err != nil {
			t.Fatalf("NextID after the grant: %v", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		c := newClient(t, ts.URL, WithPrefetch(10, 2, 0))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := c.NextID(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("NextID error = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestClose checks that Close stops the goroutine, is idempotent, and that calls then fail.
func TestClose(t *testing.T) {
	ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c, err := New(ts.URL, WithPrefetch(10, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	waiting := make(chan error, 1)
	go func() {
		_, err := c.NextID(context.Background())
		waiting <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close() // cancels the refill request hanging on the server
	select {
	case <-c.pre.done:
	default:
		t.Fatal("prefetch goroutine still running after Close")
	}
	if err := <-waiting; !errors.Is(err, ErrClosed) {
		t.Errorf("NextID waiting during Close error = %v, want ErrClosed", err)
	}
	c.Close()
	for name, call := range map[string]func() error{
		"NextID":  func() error { _, err := c.NextID(context.Background()); return err },
		"NextIDs": func() error { _, err := c.NextIDs(context.Background(), 1); return err },
		"Stats":   func() error { _, err := c.Stats(context.Background()); return err },
		"Decode":  func() error { _, err := c.Decode(context.Background(), 1); return err },
	} {
		if err := call(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close error = %v, want ErrClosed", name, err)
		}
	}
}

// pausableServer is an ID server whose batch answers (GET /ids) come after delay, and that, while
// paused is set, accepts batch requests and never answers them, as a process stopped by SIGSTOP.
type pausableServer struct {
	*testServer
	paused atomic.Bool
}

func startPausable(t *testing.T, gen int64, delay time.Duration) *pausableServer {
	t.Helper()
	inner := startServer(t, gen)
	quit := make(chan struct{})
	p := &pausableServer{testServer: inner}
	ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ids" {
			if p.paused.Load() {
				select {
				case <-r.Context().Done():
				case <-quit:
				}
				return
			}
			time.Sleep(delay)
		}
		inner.Config.Handler.ServeHTTP(w, r)
	})
	t.Cleanup(func() { close(quit) }) // runs before the server's Close, which waits for handlers
	p.testServer = &testServer{Server: ts, gen: inner.gen}
	return p
}

// TestPrefetchRefillsBeforeAging: a caller takes IDs at a steady rate far below the buffer's size,
// so the buffer never reaches its low watermark by use; its IDs reach the maximum age instead. The
// refill must start early enough that fresh IDs are in the buffer before the old ones age out, also
// while the first server is paused and each refill pays the hedge delay: no call may find the
// buffer empty (a call that waits for a refill fails its 20 ms deadline, as batches take 30 ms),
// and no ID handed out may be older than the maximum age.
func TestPrefetchRefillsBeforeAging(t *testing.T) {
	const (
		maxAge = 400 * time.Millisecond
		delay  = 30 * time.Millisecond
		run    = 2500 * time.Millisecond
	)
	for _, paused := range []bool{false, true} {
		t.Run(fmt.Sprintf("paused=%v", paused), func(t *testing.T) {
			a, b := startPausable(t, 1, delay), startPausable(t, 2, delay)
			c := newClient(t, a.URL, WithServers(b.URL), WithPrefetch(5000, 100, maxAge))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := c.NextID(ctx) // the first fill
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			a.paused.Store(paused)
			var calls, fails, old int
			var firstErr error
			for start := time.Now(); time.Since(start) < run; calls++ {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				id, err := c.NextID(ctx)
				cancel()
				now := time.Now()
				if err != nil {
					fails++
					if firstErr == nil {
						firstErr = err
					}
				} else if p, err := snowfall.DefaultLayout().Decode(id); err != nil {
					t.Fatal(err)
				} else if age := now.Sub(p.Time); age > maxAge+50*time.Millisecond {
					old++
					t.Errorf("ID %d handed out %v after its time, want at most the maximum age %v", id, age, maxAge)
				}
				time.Sleep(time.Millisecond)
			}
			st := c.ClientStats()
			t.Logf("%d calls, %d failed (%v), %d too old; %+v", calls, fails, firstErr, old, st)
			// Before the fix the buffer emptied at every maximum age: about 5 failed calls in 2.5 s.
			if fails > 1 {
				t.Errorf("%d of %d calls found the buffer empty and failed (first: %v); want none (at most 1 on a loaded machine)", fails, calls, firstErr)
			}
			if st.Aged == 0 {
				t.Errorf("ClientStats().Aged = 0: no ID reached the maximum age, the test proves nothing")
			}
		})
	}
}

// TestPrefetchSparseCallerRefillsBeforeAging: a caller too sparse to come by while a batch is
// about to age (one call every 400 ms, a maximum age of 1 s) still never finds the buffer emptied by
// age: the refill goroutine replaces a batch when it comes that close to the maximum age, while
// calls take IDs. In a synctest bubble: a call that waits for a refill takes the batch latency
// (30 ms); one that finds an ID takes no time at all.
func TestPrefetchSparseCallerRefillsBeforeAging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemFleet(2, func(int) time.Duration { return 30 * time.Millisecond })
		first, rest := m.urls()
		c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout),
			WithPrefetch(100, 10, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var waited []int
		for i := range 30 {
			start := time.Now()
			if _, err := c.NextID(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > 0 && i > 0 {
				waited = append(waited, i)
			}
			time.Sleep(400 * time.Millisecond)
		}
		if len(waited) > 0 {
			t.Errorf("calls %v of 30, one every 400 ms, waited for a refill: the buffer was emptied by age", waited)
		}
		if st := c.ClientStats(); st.Aged == 0 {
			t.Errorf("ClientStats = %+v: no ID aged, the test proves nothing", st)
		}
	})
}

// TestPrefetchIdleDoesNotRefill: a client that stops taking IDs does not keep fetching batches to
// replace those that age: after its last call, at most one refill.
func TestPrefetchIdleDoesNotRefill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemFleet(2, func(int) time.Duration { return 30 * time.Millisecond })
		first, rest := m.urls()
		c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout),
			WithPrefetch(100, 10, time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 3 {
			if _, err := c.NextID(context.Background()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(400 * time.Millisecond)
		}
		m.mu.Lock()
		before := m.hits[0] + m.hits[1]
		m.mu.Unlock()
		time.Sleep(10 * time.Second)
		m.mu.Lock()
		after := m.hits[0] + m.hits[1]
		m.mu.Unlock()
		if after-before > 1 {
			t.Errorf("%d batch requests in 10 s without a call, want at most 1", after-before)
		}
	})
}
