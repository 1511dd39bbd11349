package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
)

// memFleet is a fleet of ID servers behind an http.RoundTripper, for tests in a synctest bubble:
// server i issues IDs of generator i, increasing, when a request arrives, and answers after a delay
// that delay picks. A request cancelled before that fails, and its IDs are lost with it, unless
// crossed says the answer crossed the cancellation: then it arrives anyway, at the end of the delay,
// and the client must discard its IDs and count them.
type memFleet struct {
	layout  snowfall.Layout
	delay   func(server int) time.Duration
	crossed func() bool
	refuse  func(server int) bool // answer 503 at once, with Retry-After: 1

	base   int64 // the tick the fleet was made in
	mu     sync.Mutex
	tick   []int64 // IDs issued by each server
	issued int     // IDs issued
	lost   int     // IDs issued for requests cancelled before their answer
	hits   []int
}

// newMemFleet returns a fleet whose IDs are dated at the time it is made (a synctest bubble's
// clock starts in 2000: the layout's epoch is before it) and stay within seconds of it.
func newMemFleet(n int, delay func(int) time.Duration) *memFleet {
	l, err := snowfall.DefaultLayout().WithEpoch(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return &memFleet{layout: l, delay: delay, tick: make([]int64, n), hits: make([]int, n), base: l.Ticks(time.Now())}
}

func (m *memFleet) urls() (first string, rest []string) {
	for i := range m.tick {
		rest = append(rest, fmt.Sprintf("http://s%d", i))
	}
	return rest[0], rest[1:]
}

func (m *memFleet) RoundTrip(r *http.Request) (*http.Response, error) {
	srv, err := strconv.Atoi(strings.TrimPrefix(r.URL.Host, "s"))
	if err != nil {
		return nil, err
	}
	n := 1
	if r.URL.Path == "/ids" {
		n, _ = strconv.Atoi(r.URL.Query().Get("n"))
	}
	m.mu.Lock()
	m.hits[srv]++
	if m.refuse != nil && m.refuse(srv) {
		m.mu.Unlock()
		body := `{"error":"generator fenced"}`
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	}
	var body strings.Builder
	for range n {
		m.tick[srv]++
		per := m.layout.PerTick()
		id, err := m.layout.Compose(m.base+m.tick[srv]/per, m.tick[srv]%per, snowfall.Node{Generator: int64(srv)})
		if err != nil {
			m.mu.Unlock()
			return nil, err
		}
		fmt.Fprintf(&body, "%d\n", id)
	}
	m.issued += n
	d := m.delay(srv)
	m.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		if m.crossed == nil || !m.crossed() {
			m.mu.Lock()
			m.lost += n
			m.mu.Unlock()
			return nil, r.Context().Err()
		}
		<-t.C
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body.String())),
		ContentLength: int64(body.Len()), Request: r}, nil
}

// TestHedgingAccountsForEveryID: over seeded fleets whose servers are now fast, now slow, now hung,
// callers get unique IDs, increasing per generator for each caller, and every ID the servers
// issued is either returned once or counted as discarded (or prefetched and unused): none is
// returned twice, none dropped silently.
func TestHedgingAccountsForEveryID(t *testing.T) {
	for _, mode := range []string{"NextID", "NextIDs", "prefetch"} {
		var sum ClientStats
		for seed := uint64(1); seed <= 12; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", mode, seed), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { sum = sum.Add(hedgeRun(t, seed, mode)) })
			})
		}
		if sum.Hedged == 0 || sum.Discarded == 0 {
			t.Errorf("%s: %+v over all seeds: no hedge, or no discarded ID; the test proves nothing", mode, sum)
		}
	}
}

// hedgeRun runs one seeded fleet and returns the client's counters.
func hedgeRun(t *testing.T, seed uint64, mode string) ClientStats {
	var rmu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 20))
	m := newMemFleet(4, func(int) time.Duration {
		rmu.Lock()
		defer rmu.Unlock()
		switch x := rng.IntN(100); {
		case x < 80:
			return time.Duration(1+rng.IntN(5)) * time.Millisecond
		case x < 95:
			return time.Duration(20+rng.IntN(100)) * time.Millisecond
		default:
			return time.Duration(500+rng.IntN(3000)) * time.Millisecond // hung past the deadline
		}
	})
	m.crossed = func() bool {
		rmu.Lock()
		defer rmu.Unlock()
		return rng.IntN(2) == 0
	}
	first, rest := m.urls()
	opts := []Option{WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout)}
	if seed%2 == 0 {
		opts = append(opts, WithPolicy(RoundRobin))
	}
	if mode == "prefetch" {
		opts = append(opts, WithPrefetch(6, 1, 0))
	}
	c, err := New(first, opts...)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu       sync.Mutex
		returned = map[snowfall.ID]bool{}
		wg       sync.WaitGroup
	)
	for caller := range 4 {
		wg.Go(func() {
			last := map[int64]snowfall.ID{}
			for range 40 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				var ids []snowfall.ID
				var err error
				if mode == "NextIDs" {
					ids, err = c.NextIDs(ctx, 1+caller)
				} else {
					var id snowfall.ID
					if id, err = c.NextID(ctx); err == nil {
						ids = []snowfall.ID{id}
					}
				}
				cancel()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrAllFailed) {
						t.Errorf("caller %d: %v", caller, err)
					}
					continue
				}
				mu.Lock()
				for _, id := range ids {
					if returned[id] {
						t.Errorf("ID %d returned twice", id)
					}
					returned[id] = true
					g := int64(uint64(id) & nodeMask(m.layout))
					if id <= last[g] {
						t.Errorf("caller %d got %d after %d of one generator", caller, id, last[g])
					}
					last[g] = id
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	buffered := 0
	if c.pre != nil {
		c.pre.stop() // no refill after the count below
		c.pre.mu.Lock()
		buffered = c.pre.n
		c.pre.mu.Unlock()
	}
	c.Close()
	synctest.Wait()
	time.Sleep(5 * time.Second) // answers of cancelled attempts arrive and are discarded
	synctest.Wait()
	st := c.ClientStats()
	m.mu.Lock()
	issued, lost := m.issued, m.lost
	m.mu.Unlock()
	if got := len(returned) + int(st.Discarded) + int(st.Aged) + buffered + lost; got != issued {
		t.Errorf("servers issued %d IDs; returned %d + discarded %d + aged %d + buffered %d + lost with cancelled requests %d = %d",
			issued, len(returned), st.Discarded, st.Aged, buffered, lost, got)
	}
	return st
}

// TestHedgeTakesFirstAnswer: the first server answers after 300 ms, the second at once; a call
// hedges after the delay and returns the second server's ID well before the first answers, and the
// first server's ID, arriving later, is counted as discarded.
func TestHedgeTakesFirstAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemFleet(2, func(srv int) time.Duration {
			if srv == 0 {
				return 300 * time.Millisecond
			}
			return time.Millisecond
		})
		m.crossed = func() bool { return true }
		first, rest := m.urls()
		c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout),
			WithHedging(10*time.Millisecond, 40*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		id, err := c.NextID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 41*time.Millisecond {
			t.Errorf("NextID took %v, want 41ms: the hedge delay (40ms, no latency seen yet) and the second server's 1ms", d)
		}
		if g := int64(uint64(id) & nodeMask(m.layout)); g != 1 {
			t.Errorf("NextID = %d of generator %d, want the second server's", id, g)
		}
		// The slow server now goes after the other: the next call does not wait for it.
		start = time.Now()
		if _, err := c.NextID(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Millisecond {
			t.Errorf("the next NextID took %v, want 1ms from the second server", d)
		}
		time.Sleep(time.Second) // the first server's answer arrives
		synctest.Wait()
		if st := c.ClientStats(); st.Hedged != 1 || st.Discarded != 1 {
			t.Errorf("ClientStats = %+v, want 1 hedged and 1 discarded", st)
		}
	})
}

// TestAttemptBoundWithoutHedging: with hedging off, a hung first server gets an equal share of the
// call's deadline (here 1s over 2 servers), then the call asks the second, and the hung server backs
// off so the next call does not wait for it.
func TestAttemptBoundWithoutHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemFleet(2, func(srv int) time.Duration {
			if srv == 0 {
				return time.Hour
			}
			return time.Millisecond
		})
		first, rest := m.urls()
		c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout), WithHedging(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i, want := range []time.Duration{501 * time.Millisecond, time.Millisecond} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			start := time.Now()
			_, err := c.NextID(ctx)
			cancel()
			if err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
			if d := time.Since(start); d != want {
				t.Errorf("call %d took %v, want %v", i, d, want)
			}
		}
		if st := c.ClientStats(); st.TimedOut != 1 || st.Hedged != 0 {
			t.Errorf("ClientStats = %+v, want 1 timed out, none hedged", st)
		}
	})
}

// TestWholeFleetBlip: every server refuses (503, Retry-After: 1) for 120 ms, as a fleet whose store
// stalled does. A call made then asks again after short pauses and gets an ID once the fleet
// answers; a fleet that keeps refusing fails the call with an AllFailedError within the retry
// window, not at the call's deadline.
func TestWholeFleetBlip(t *testing.T) {
	for _, tt := range []struct {
		name    string
		refuse  time.Duration
		wantErr bool
		took    time.Duration
	}{
		// Rounds at 0, 25, 75 and 175 ms: the fourth finds the fleet back.
		{"blip of 120ms", 120 * time.Millisecond, false, 176 * time.Millisecond},
		// The next round would start at 375 ms, past the 250 ms window.
		{"down for good", time.Hour, true, 175 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				m := newMemFleet(4, func(int) time.Duration { return time.Millisecond })
				m.refuse = func(int) bool { return time.Since(start) < tt.refuse }
				first, rest := m.urls()
				c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_, err = c.NextID(ctx)
				var all *AllFailedError
				if tt.wantErr != errors.As(err, &all) || !tt.wantErr && err != nil {
					t.Fatalf("NextID error = %v, want an AllFailedError: %v", err, tt.wantErr)
				}
				if d := time.Since(start); d != tt.took {
					t.Errorf("NextID took %v, want %v", d, tt.took)
				}
			})
		})
	}
}

// TestHedgeLoserBacksOff: the first server is paused (it accepts requests and never answers) and a
// sparse caller asks for an ID every 300 ms, longer than one back-off period. The paused server
// loses every hedge race; each loss in a row lengthens the time it goes after the others, doubling
// like a failure's back-off up to its cap, so the caller stops paying the hedge delay on nearly
// every call. A good answer from the server clears that: once it answers again, its next lost race
// puts it back for one back-off period only.
func TestHedgeLoserBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var paused sync.Mutex
		isPaused := true
		m := newMemFleet(2, func(srv int) time.Duration {
			paused.Lock()
			defer paused.Unlock()
			if srv == 0 && isPaused {
				return time.Hour
			}
			return time.Millisecond
		})
		setPaused := func(p bool) {
			paused.Lock()
			isPaused = p
			paused.Unlock()
		}
		first, rest := m.urls()
		c, err := New(first, WithServers(rest...), WithHTTPClient(&http.Client{Transport: m}), WithLayout(m.layout))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		call := func() time.Duration {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			if _, err := c.NextID(ctx); err != nil {
				t.Fatal(err)
			}
			return time.Since(start)
		}
		// 8 s of pause, one call every 300 ms.
		var waited []int
		for i := range 25 {
			if d := call(); d > time.Millisecond {
				waited = append(waited, i)
			}
			time.Sleep(300 * time.Millisecond)
		}
		st := c.ClientStats()
		// Slow for 250 ms, 500 ms, 1 s, then 2 s: calls 0, 1, 3, 7, then every seventh or so.
		if st.Hedged > 7 || len(waited) > 7 {
			t.Errorf("during the pause %d of 25 calls were hedged, calls %v waited for the paused server; want at most 7 (the paused server going after the other for longer after each lost race)",
				st.Hedged, waited)
		}
		t.Logf("paused: %+v, calls that waited: %v", st, waited)

		// The server answers again; once it was asked first and won, one lost race puts it back
		// for one back-off period only: a call 300 ms later asks it first again.
		setPaused(false)
		time.Sleep(3 * time.Second)
		hits0 := func() int {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.hits[0]
		}
		h0 := hits0()
		if d := call(); d != time.Millisecond || hits0() != h0+1 {
			t.Fatalf("the call after the pause took %v and asked the first server %d times, want 1ms and once", d, hits0()-h0)
		}
		setPaused(true)
		before := c.ClientStats().Hedged
		call()
		time.Sleep(300 * time.Millisecond)
		call()
		if h := c.ClientStats().Hedged - before; h != 2 {
			t.Errorf("%d of 2 calls 300 ms apart hedged after the server answered again, want 2: its good answer cleared the lengthened back-off", h)
		}
	})
}

// TestBatchHedgeDelayUncapped: a batch is hedged after its own 99th percentile latency, however
// far above the cap of single requests (DefaultHedgeMax): a server needs that long to issue it,
// and hedging sooner asks a second server for IDs that are thrown away (16 concurrent
// NextIDs(20000) on two servers hedged up to 579 of 945 calls with the cap, about 30 of 1,010
// without). Single requests keep the cap: a paused server costs them at most DefaultHedgeMax.
func TestBatchHedgeDelayUncapped(t *testing.T) {
	c, err := New("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 * latencyEvery {
		c.batch.add(200 * time.Millisecond)
		c.one.add(200 * time.Millisecond)
	}
	if got := c.hedgeDelay(&c.batch); got != 200*time.Millisecond {
		t.Errorf("batch hedge delay = %v, want its p99, 200ms", got)
	}
	if got := c.hedgeDelay(&c.one); got != DefaultHedgeMax {
		t.Errorf("single-ID hedge delay = %v, want the cap %v", got, DefaultHedgeMax)
	}
	for range latencySamples {
		c.batch.add(time.Millisecond)
	}
	if got := c.hedgeDelay(&c.batch); got != DefaultHedgeMin {
		t.Errorf("batch hedge delay after fast answers = %v, want the floor %v", got, DefaultHedgeMin)
	}
}
