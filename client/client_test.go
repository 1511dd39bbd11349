package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []Option
		want error
	}{
		{"empty", "", nil, ErrInvalidURL},
		{"ftp scheme", "ftp://example.com", nil, ErrInvalidURL},
		{"no host", "http://", nil, ErrInvalidURL},
		{"query", "http://h:1/?a=b", nil, ErrInvalidURL},
		{"bad server in list", "http://h:1", []Option{WithServers("gopher://x")}, ErrInvalidURL},
		{"negative timeout", "http://h:1", []Option{WithTimeout(-1)}, ErrInvalidOption},
		{"negative backoff", "http://h:1", []Option{WithBackoff(-1)}, ErrInvalidOption},
		{"unknown policy", "http://h:1", []Option{WithPolicy(7)}, ErrInvalidOption},
		{"nil http client", "http://h:1", []Option{WithHTTPClient(nil)}, ErrInvalidOption},
		{"prefetch size 0", "http://h:1", []Option{WithPrefetch(0, 0, 0)}, ErrInvalidOption},
		{"prefetch low = size", "http://h:1", []Option{WithPrefetch(10, 10, 0)}, ErrInvalidOption},
		{"prefetch negative age", "http://h:1", []Option{WithPrefetch(10, 1, -time.Second)}, ErrInvalidOption},
		{"prefetch age of 1µs", "http://h:1", []Option{WithPrefetch(10, 1, time.Microsecond)}, ErrInvalidOption}, // every call failed
		{"prefetch age under 10ms", "http://h:1", []Option{WithPrefetch(10, 1, 9*time.Millisecond)}, ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.url, tt.opts...)
			if !errors.Is(err, tt.want) {
				t.Errorf("New(%q) error = %v, want %v", tt.url, err, tt.want)
			}
			if c != nil {
				c.Close()
			}
		})
	}
}

func TestServers(t *testing.T) {
	c := newClient(t, "localhost:8910", WithServers("https://ids.example.com/prefix/", "http://[::1]:9000"))
	got := c.Servers()
	want := []string{"http://localhost:8910", "https://ids.example.com/prefix", "http://[::1]:9000"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Servers() mismatch (-want +got):\n%s", diff)
	}
}

func TestNextIDIncreases(t *testing.T) {
	ts := startServer(t, 3)
	c := newClient(t, ts.URL)
	ctx := context.Background()
	var last snowfall.ID
	for i := 0; i < 100; i++ {
		id, err := c.NextID(ctx)
		if err != nil {
			t.Fatalf("NextID: %v", err)
		}
		if id <= last {
			t.Fatalf("NextID = %d after %d, want increasing", id, last)
		}
		if g := generatorOf(t, id); g != 3 {
			t.Fatalf("generator of %d = %d, want 3", id, g)
		}
		last = id
	}
}

// TestConcurrentUnique has 16 goroutines share a client and checks that every ID is new, over one
// server, without and with prefetch, and with NextIDs.
func TestConcurrentUnique(t *testing.T) {
	const callers, each = 16, 300
	tests := []struct {
		name string
		opts []Option
		call func(*Client) ([]snowfall.ID, error)
	}{
		{"NextID", nil, nextOne},
		{"NextID prefetch", []Option{WithPrefetch(500, 100, time.Second)}, nextOne},
		{"NextIDs", nil, func(c *Client) ([]snowfall.ID, error) { return c.NextIDs(context.Background(), 7) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, 1)
			c := newClient(t, ts.URL, tt.opts...)
			got := collect(t, callers, each, func() ([]snowfall.ID, error) { return tt.call(c) })
			checkUnique(t, got)
		})
	}
}

func nextOne(c *Client) ([]snowfall.ID, error) {
	id, err := c.NextID(context.Background())
	return []snowfall.ID{id}, err
}

// collect runs call each times on each of callers goroutines and returns all IDs, failing on errors.
func collect(t *testing.T, callers, each int, call func() ([]snowfall.ID, error)) []snowfall.ID {
	t.Helper()
	var (
		mu  sync.Mutex
		all []snowfall.ID
		wg  sync.WaitGroup
	)
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			var mine []snowfall.ID
			for range each {
				ids, err := call()
				if err != nil {
					errs <- err
					return
				}
				mine = append(mine, ids...)
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("call failed: %v", err)
	}
	return all
}

func checkUnique(t *testing.T, ids []snowfall.ID) {
	t.Helper()
	seen := make(map[snowfall.ID]bool, len(ids))
	for _, id := range ids {
		if id <= 0 {
			t.Fatalf("got ID %d, want positive", id)
		}
		if seen[id] {
			t.Fatalf("ID %d returned twice", id)
		}
		seen[id] = true
	}
}

func TestNextIDs(t *testing.T) {
	ts := startServer(t, 2)
	c := newClient(t, ts.URL)
	for _, n := range []int{1, 5, MaxBatch, MaxBatch + 3} {
		ids, err := c.NextIDs(context.Background(), n)
		if err != nil {
			t.Fatalf("NextIDs(%d): %v", n, err)
		}
		if len(ids) != n {
			t.Fatalf("NextIDs(%d) returned %d IDs", n, len(ids))
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("NextIDs(%d)[%d] = %d after %d, want increasing", n, i, ids[i], ids[i-1])
			}
		}
	}
	if _, err := c.NextIDs(context.Background(), 0); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("NextIDs(0) error = %v, want ErrInvalidOption", err)
	}
}

func TestStats(t *testing.T) {
	ts := startServer(t, 9)
	c := newClient(t, ts.URL)
	ctx := context.Background()
	if _, err := c.NextIDs(ctx, 10); err != nil {
		t.Fatal(err)
	}
	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Generator == nil || *st.Generator != 9 {
		t.Errorf("Stats().Generator = %v, want 9", st.Generator)
	}
	if st.Layout != snowfall.PresetSnowfall || st.IDsGenerated < 10 || st.EpochMs != snowfall.DefaultLayout().EpochMs() {
		t.Errorf("Stats() = %+v, want layout snowfall, ids_generated >= 10, the default epoch", st)
	}
	if st.Timestamp < st.LastTimestamp || st.LastTimestamp == 0 {
		t.Errorf("Stats() timestamp %d, last_timestamp %d, want last set and not after timestamp", st.Timestamp, st.LastTimestamp)
	}

	// Every key the server sends has a field.
	resp, err := http.Get(ts.URL + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(api.Stats{Generator: new(int64(0)), Fenced: "x"})
	var mine map[string]json.RawMessage
	json.Unmarshal(b, &mine)
	for k := range raw {
		if _, ok := mine[k]; !ok {
			t.Errorf("/stats key %q has no field in api.Stats", k)
		}
	}
}

func TestDecode(t *testing.T) {
	ts := startServer(t, 6)
	c := newClient(t, ts.URL)
	ctx := context.Background()
	id, err := c.NextID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(ctx, id)
	if err != nil {
		t.Fatalf("Decode(%d): %v", id, err)
	}
	want, err := snowfall.DecodeString(snowfall.DefaultLayout(), id.String())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Decode(%d) = %+v, want %+v", id, got, want)
	}
}

// TestBadRequestFailsOver: a 400 from one server is that server's failure (issue 21: it ended the
// call): the next server answers. An argument every server would refuse is refused before any
// request.
func TestBadRequestFailsOver(t *testing.T) {
	bad := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"no"}`, http.StatusBadRequest)
	})
	b := startServer(t, 2)
	c := newClient(t, bad.URL, WithServers(b.URL))
	if _, err := c.Decode(context.Background(), 5); err != nil {
		t.Fatalf("Decode(5) = %v, want the second server's answer", err)
	}
	if _, err := c.Decode(context.Background(), -1); !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "-1") {
		t.Errorf("Decode(-1) error = %v, want ErrInvalidOption naming -1", err)
	}
	if n := b.hits.Load(); n != 1 {
		t.Errorf("second server got %d requests, want 1", n)
	}
}

// fencedServer starts a real server whose generator is revoked, so ID requests get 503.
func fencedServer(t *testing.T, gen int64) *testServer {
	ts := startServer(t, gen)
	ts.gen.Revoke(errors.New("test: lease lost"))
	return ts
}

func TestUnavailable(t *testing.T) {
	t.Run("one server", func(t *testing.T) {
		ts := fencedServer(t, 1)
		c := newClient(t, ts.URL)
		_, err := c.NextID(context.Background())
		var se *ServerError
		if !errors.As(err, &se) {
			t.Fatalf("NextID error = %v, want a ServerError", err)
		}
		if se.Status != http.StatusServiceUnavailable || se.RetryAfter != time.Second || !strings.Contains(se.Message, "fenced") {
			t.Errorf("ServerError = %+v, want 503, Retry-After 1s and the server's message", se)
		}
		if errors.Is(err, ErrAllFailed) {
			t.Errorf("NextID error = %v, want no AllFailedError with one server", err)
		}
	})
	t.Run("failover to a good server, then back-off", func(t *testing.T) {
		bad, good := fencedServer(t, 1), startServer(t, 2)
		// WithLayout: no GET /stats to learn it, so that the hits count ID requests only.
		c := newClient(t, bad.URL, WithServers(good.URL), WithLayout(snowfall.DefaultLayout()))
		for i := 0; i < 5; i++ {
			id, err := c.NextID(context.Background())
			if err != nil {
				t.Fatalf("NextID: %v", err)
			}
			if g := generatorOf(t, id); g != 2 {
				t.Fatalf("generator of %d = %d, want 2", id, g)
			}
		}
		// Retry-After: 1 keeps the fenced server out of turn for the next calls.
		if n := bad.hits.Load(); n != 1 {
			t.Errorf("fenced server got %d requests, want 1", n)
		}
	})
	t.Run("all fail", func(t *testing.T) {
		a, b := fencedServer(t, 1), fencedServer(t, 2)
		c := newClient(t, a.URL, WithServers(b.URL))
		_, err := c.NextID(context.Background())
		var all *AllFailedError
		if !errors.As(err, &all) || len(all.Failures) != 2 {
			t.Fatalf("NextID error = %v, want an AllFailedError with 2 failures", err)
		}
		for i, f := range all.Failures {
			var se *ServerError
			if !errors.As(f.Err, &se) || se.Status != http.StatusServiceUnavailable {
				t.Errorf("failure %d = %v, want a 503 ServerError", i, f.Err)
			}
		}
		if !errors.Is(err, ErrAllFailed) || !errors.Is(err, ErrServer) {
			t.Errorf("NextID error = %v, want ErrAllFailed and ErrServer", err)
		}
	})
}

// deadURL returns the URL of a loopback port nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestDeadPort(t *testing.T) {
	t.Run("alone", func(t *testing.T) {
		c := newClient(t, deadURL(t))
		start := time.Now()
		_, err := c.NextID(context.Background())
		var oe *net.OpError
		if !errors.As(err, &oe) {
			t.Fatalf("NextID error = %v, want a *net.OpError", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("NextID took %v to fail, want quick", d)
		}
	})
	t.Run("then a good server", func(t *testing.T) {
		dead, good := deadURL(t), startServer(t, 4)
		c := newClient(t, dead, WithServers(good.URL))
		for i := 0; i < 3; i++ {
			if _, err := c.NextID(context.Background()); err != nil {
				t.Fatalf("NextID: %v", err)
			}
		}
	})
}

func TestSlowServer(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	tests := []struct {
		name string
		opts []Option
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"default timeout option", []Option{WithTimeout(100 * time.Millisecond)}, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
		{"context deadline", []Option{WithTimeout(0)}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startHandler(t, slow)
			c := newClient(t, ts.URL, tt.opts...)
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			_, err := c.NextID(ctx)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("NextID error = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("NextID took %v, want about 100ms", d)
			}
		})
	}
	t.Run("slow then good", func(t *testing.T) {
		ts, good := startHandler(t, slow), startServer(t, 5)
		c := newClient(t, ts.URL, WithServers(good.URL), WithTimeout(100*time.Millisecond))
		id, err := c.NextID(context.Background())
		if err != nil {
			t.Fatalf("NextID: %v", err)
		}
		if g := generatorOf(t, id); g != 5 {
			t.Errorf("generator of %d = %d, want 5", id, g)
		}
	})
}

func TestBadResponse(t *testing.T) {
	ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) })
	c := newClient(t, ts.URL)
	if _, err := c.NextID(context.Background()); !errors.Is(err, ErrBadResponse) {
		t.Errorf("NextID error = %v, want ErrBadResponse", err)
	}
	if _, err := c.NextIDs(context.Background(), 2); !errors.Is(err, ErrBadResponse) {
		t.Errorf("NextIDs error = %v, want ErrBadResponse", err)
	}
}

// TestFailoverMidRun stops one of two servers while 16 goroutines take IDs round-robin: every call
// succeeds, and every ID is new.
func TestFailoverMidRun(t *testing.T) {
	for _, p := range []struct {
		name string
		opt  Option
	}{{"round robin", WithPolicy(RoundRobin)}, {"failover", WithPolicy(Failover)}} {
		t.Run(p.name, func(t *testing.T) {
			a, b := startServer(t, 1), startServer(t, 2)
			c := newClient(t, a.URL, WithServers(b.URL), p.opt)
			var calls atomic.Int64
			stopped := make(chan struct{})
			ids := collect(t, 16, 200, func() ([]snowfall.ID, error) {
				if calls.Add(1) == 800 {
					go func() {
						a.Close() // waits for requests in flight
						close(stopped)
					}()
				}
				id, err := c.NextID(context.Background())
				return []snowfall.ID{id}, err
			})
			<-stopped
			checkUnique(t, ids)
			gens := map[int64]int{}
			for _, id := range ids {
				gens[generatorOf(t, id)]++
			}
			if gens[1] == 0 || gens[2] == 0 {
				t.Errorf("IDs per generator = %v, want some from each", gens)
			}
			after, err := c.NextID(context.Background())
			if err != nil || generatorOf(t, after) != 2 {
				t.Errorf("NextID after the stop = %d, %v, want an ID of generator 2", after, err)
			}
		})
	}
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		hitsA  int64
		hitsB  int64
	}{
		{"failover keeps to the first", Failover, 10, 0},
		{"round robin alternates", RoundRobin, 5, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := startServer(t, 1), startServer(t, 2)
			// No hedging: a slow moment of a loaded machine would send a call to the other server too.
			c := newClient(t, a.URL, WithServers(b.URL), WithPolicy(tt.policy), WithLayout(snowfall.DefaultLayout()), WithHedging(0, 0))
			collect(t, 1, 10, func() ([]snowfall.ID, error) { return nextOne(c) })
			if ha, hb := a.hits.Load(), b.hits.Load(); ha != tt.hitsA || hb != tt.hitsB {
				t.Errorf("requests per server = %d, %d; want %d, %d", ha, hb, tt.hitsA, tt.hitsB)
			}
		})
	}
}
