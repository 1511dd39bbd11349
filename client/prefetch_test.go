package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
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
