package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestClientErrorFailsOver: a server that answers a 4xx (a misconfigured server, a proxy's 404,
// 403, 421 or 405, an impostor's 400) is that server's failure: every call still gets its answer
// from a healthy server, by either policy, and the refusing server goes after the healthy one.
func TestClientErrorFailsOver(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 405, 410, 413, 421, 422} {
		for _, policy := range []Policy{Failover, RoundRobin} {
			t.Run(fmt.Sprintf("%d/policy=%d", status, policy), func(t *testing.T) {
				var hits atomic.Int64
				bad := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
					hits.Add(1)
					http.Error(w, `{"error":"not here"}`, status)
				})
				good := startServer(t, 2)
				c := newClient(t, bad.URL, WithServers(good.URL), WithPolicy(policy))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				for i := range 10 {
					if _, err := c.NextID(ctx); err != nil {
						t.Fatalf("NextID %d: %v", i, err)
					}
					if ids, err := c.NextIDs(ctx, 3); err != nil || len(ids) != 3 {
						t.Fatalf("NextIDs(3) %d = %v, %v", i, ids, err)
					}
					if _, err := c.Stats(ctx); err != nil {
						t.Fatalf("Stats %d: %v", i, err)
					}
					if _, err := c.Decode(ctx, 1); err != nil {
						t.Fatalf("Decode %d: %v", i, err)
					}
				}
				// It sits out a back-off after it failed: not asked on every call.
				if n := hits.Load(); n > 10 {
					t.Errorf("the refusing server got %d requests over 40 calls, want it backing off", n)
				}
			})
		}
	}
}

// TestSameRefusalEndsCall: when every server refuses a request alike, the call ends at once with
// their errors (no second round: they would refuse again), and errors.As finds the ServerError.
func TestSameRefusalEndsCall(t *testing.T) {
	var hits atomic.Int64
	h := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats" {
			hits.Add(1)
		}
		http.Error(w, `{"error":"bad n"}`, http.StatusBadRequest)
	}
	a, b := startHandler(t, h), startHandler(t, h)
	c := newClient(t, a.URL, WithServers(b.URL))
	c.NextID(context.Background()) // the first call also waits (briefly) for the layout to be learned
	hits.Store(0)
	start := time.Now()
	_, err := c.NextID(context.Background())
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 400 || !errors.Is(err, ErrServer) {
		t.Fatalf("NextID = %v, want the servers' 400", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want one per server", n)
	}
	if d := time.Since(start); d > firstRetryPause {
		t.Errorf("the call took %v, want no pause for a second round", d)
	}
	// Arguments every server would refuse are refused before any request.
	if _, err := c.Decode(context.Background(), -1); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("Decode(-1) = %v, want ErrInvalidOption", err)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("Decode(-1) sent %d requests, want none", n-2)
	}
}

// idAt returns an ID of generator gen under the default layout at time t, sequence seq.
func idAt(t testing.TB, at time.Time, seq, gen int64) snowfall.ID {
	t.Helper()
	l := snowfall.DefaultLayout()
	id, err := l.Compose(l.Ticks(at), seq, snowfall.Node{Generator: gen})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestFutureIDRefused: a server whose answer holds an ID dated far ahead of the client's clock (a
// faulty clock or a hostile server) is refused before the ID can raise its generator's floor, so
// the honest server of that generator keeps serving every call.
func TestFutureIDRefused(t *testing.T) {
	honest := startServer(t, 5)
	var bad atomic.Int64
	future := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stats":
			http.Redirect(w, r, honest.URL+"/stats", http.StatusTemporaryRedirect)
		case "/ids":
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			for i := range n {
				fmt.Fprintln(w, idAt(t, time.Now().Add(time.Hour), int64(i), 5))
			}
			bad.Add(1)
		default:
			fmt.Fprintln(w, idAt(t, time.Now().Add(time.Hour), 0, 5))
			bad.Add(1)
		}
	})
	for _, mode := range []string{"NextID", "NextIDs", "prefetch"} {
		t.Run(mode, func(t *testing.T) {
			var opts []Option
			if mode == "prefetch" {
				opts = append(opts, WithPrefetch(16, 4, 0))
			}
			c := newClient(t, future.URL, append(opts, WithServers(honest.URL), WithLayout(snowfall.Layout{}), WithBackoff(time.Millisecond))...)
			limit := time.Now().Add(DefaultMaxSkew)
			for i := range 50 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				var ids []snowfall.ID
				var err error
				if mode == "NextIDs" {
					ids, err = c.NextIDs(ctx, 4)
				} else {
					var id snowfall.ID
					id, err = c.NextID(ctx)
					ids = []snowfall.ID{id}
				}
				cancel()
				if err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
				for _, id := range ids {
					if d, _ := snowfall.DefaultLayout().Decode(id); d.Time.After(limit) {
						t.Fatalf("call %d returned ID %d dated %v, past the client's clock plus %v", i, id, d.Time, DefaultMaxSkew)
					}
				}
			}
			if bad.Load() == 0 {
				t.Fatal("the future-dated server was never asked; the test proves nothing")
			}
		})
	}
}

// TestFloorBlocksBriefly: an ID dated a little ahead (within the allowed skew) raises its
// generator's floor, but for no longer than the skew: calls get the honest server's IDs again once
// the client's clock passed it.
func TestFloorBlocksBriefly(t *testing.T) {
	honest := startServer(t, 5)
	const skew = 300 * time.Millisecond
	var once atomic.Bool
	ahead := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if once.Swap(true) {
			http.Error(w, "gone", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, idAt(t, time.Now().Add(skew/2), 0, 5))
	})
	c := newClient(t, ahead.URL, WithServers(honest.URL), WithLayout(snowfall.Layout{}), WithMaxSkew(skew))
	if _, err := c.NextID(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(skew)
	for i := range 20 {
		if _, err := c.NextID(context.Background()); err != nil {
			t.Fatalf("call %d, %v after the ID dated %v ahead: %v", i, skew, skew/2, err)
		}
	}
}

// repeater fronts a real server and, at random (seeded), answers a request with a copy of an
// earlier answer of the same path instead of forwarding it, sometimes after a short delay, so that
// replays cross honest answers in flight.
type repeater struct {
	target string
	mu     sync.Mutex
	rng    *rand.Rand
	seen   map[string][]string
	bad    atomic.Int64
}

func (p *repeater) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.URL.RequestURI()
	p.mu.Lock()
	old := p.seen[key]
	replay := len(old) > 0 && p.rng.IntN(2) == 0
	var body string
	if replay {
		body = old[p.rng.IntN(len(old))]
	}
	delay := time.Duration(p.rng.IntN(3)) * time.Millisecond
	p.mu.Unlock()
	time.Sleep(delay)
	if replay {
		p.bad.Add(1)
		w.Write([]byte(body))
		return
	}
	resp, err := http.Get(p.target + key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode == http.StatusOK && r.URL.Path != "/stats" {
		p.mu.Lock()
		if s := p.seen[key]; len(s) < 64 {
			p.seen[key] = append(s, b.String())
		} else {
			s[p.rng.IntN(len(s))] = b.String()
		}
		p.mu.Unlock()
	}
	w.WriteHeader(resp.StatusCode)
	w.Write([]byte(b.String()))
}

// TestNoRepeatsUnderHedgingPrefetchFailover: clients with hedging, prefetch and failover over an
// honest server, two repeaters in front of it that replay its earlier answers (crossing honest
// answers in flight), and a server that hangs now and then, hand no ID to their callers twice.
// Seeded and replayable: a failure names its seed.
func TestNoRepeatsUnderHedgingPrefetchFailover(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			honest := startServer(t, 3)
			r1 := &repeater{target: honest.URL, rng: rand.New(rand.NewPCG(seed, 1)), seen: map[string][]string{}}
			r2 := &repeater{target: honest.URL, rng: rand.New(rand.NewPCG(seed, 2)), seen: map[string][]string{}}
			s1, s2 := startHandler(t, r1.ServeHTTP), startHandler(t, r2.ServeHTTP)
			var flaky atomic.Int64
			sometimesHung := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
				if flaky.Add(1)%3 == 0 {
					select {
					case <-r.Context().Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
				http.Error(w, "down", http.StatusServiceUnavailable)
			})
			servers := []string{s1.URL, sometimesHung.URL, s2.URL, honest.URL}
			clients := []*Client{
				newClient(t, "", WithLayout(snowfall.Layout{}), WithServers(servers...), WithHedging(time.Millisecond, 2*time.Millisecond), WithBackoff(time.Millisecond)),
				newClient(t, "", WithLayout(snowfall.Layout{}), WithServers(servers...), WithHedging(time.Millisecond, 2*time.Millisecond), WithBackoff(time.Millisecond), WithPolicy(RoundRobin)),
				newClient(t, "", WithLayout(snowfall.Layout{}), WithServers(servers...), WithHedging(time.Millisecond, 2*time.Millisecond), WithBackoff(time.Millisecond), WithPrefetch(32, 8, 0)),
			}
			for ci, c := range clients {
				var (
					mu   sync.Mutex
					seen = map[snowfall.ID]bool{}
					wg   sync.WaitGroup
				)
				for w := range 6 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(seed, uint64(100+w)))
						for range 60 {
							ctx, cancel := context.WithTimeout(context.Background(), time.Second)
							var ids []snowfall.ID
							if ci != 2 && rng.IntN(2) == 0 {
								ids, _ = c.NextIDs(ctx, 1+rng.IntN(3))
							} else if id, err := c.NextID(ctx); err == nil {
								ids = []snowfall.ID{id}
							}
							cancel()
							mu.Lock()
							for _, id := range ids {
								if seen[id] {
									mu.Unlock()
									t.Errorf("client %d handed out ID %d twice", ci, id)
									return
								}
								seen[id] = true
							}
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if len(seen) < 100 {
					t.Errorf("client %d handed out %d IDs, want most calls answered", ci, len(seen))
				}
			}
			if r1.bad.Load()+r2.bad.Load() == 0 {
				t.Fatal("no replay was sent; the test proves nothing")
			}
		})
	}
}

// TestLayoutLearningRetries: when the first GET /stats fails (a 404 of a proxy, a 500, an answer
// without a layout), the client asks again on later calls, after a back-off, and then checks
// the order of IDs.
func TestLayoutLearningRetries(t *testing.T) {
	for _, first := range []string{"404", "500", "no layout"} {
		t.Run(first, func(t *testing.T) {
			honest := startServer(t, 4)
			var stats atomic.Int64
			var replay atomic.Value
			ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/stats" {
					if stats.Add(1) <= 2 {
						switch first {
						case "404":
							http.NotFound(w, r)
						case "500":
							http.Error(w, "boom", 500)
						default:
							w.Write([]byte(`{}`))
						}
						return
					}
				}
				if r.URL.Path == "/" {
					if v, ok := replay.Load().(string); ok {
						w.Write([]byte(v))
						return
					}
				}
				resp, err := http.Get(honest.URL + r.URL.RequestURI())
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				w.WriteHeader(resp.StatusCode)
				buf := make([]byte, 64<<10)
				n, _ := resp.Body.Read(buf)
				w.Write(buf[:n])
			})
			c := newClient(t, ts.URL)
			c.check.retryMin = 5 * time.Millisecond
			deadline := time.Now().Add(5 * time.Second)
			var last snowfall.ID
			for !c.check.layoutKnown(ts.URL) {
				if time.Now().After(deadline) {
					t.Fatalf("the layout is still unknown after %d requests to /stats", stats.Load())
				}
				id, err := c.NextID(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				last = id
				time.Sleep(10 * time.Millisecond)
			}
			// The order is checked now: a replay of an ID handed out is refused.
			replay.Store(strconv.FormatInt(int64(last), 10))
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if id, err := c.NextID(ctx); !errors.Is(err, ErrIDOrder) {
				t.Errorf("NextID on a replay of %d = %d, %v; want ErrIDOrder", last, id, err)
			}
		})
	}
}

// blackholed returns the address of a listener that accepts connections and never answers.
func blackholed(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			cn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, cn := range conns {
			cn.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// TestFirstCallPrompt: the first call after New, with a blackholed server first in the list,
// answers within the documented bound (firstCallBound: the hedge delay, or the per-attempt bound
// without hedging, plus the time a healthy server takes), whatever the layout learning does.
func TestFirstCallPrompt(t *testing.T) {
	tests := []struct {
		name     string
		opts     []Option
		deadline time.Duration // zero for none
		bound    time.Duration
	}{
		{"hedged, deadline 1s", nil, time.Second, DefaultHedgeMax},
		{"hedged, no deadline", nil, 0, DefaultHedgeMax},
		{"no hedging, deadline 1s", []Option{WithHedging(0, 0)}, time.Second, 500 * time.Millisecond}, // 1 s over 2 servers
		{"no hedging, timeout 300ms", []Option{WithHedging(0, 0), WithTimeout(300 * time.Millisecond)}, 0, 300 * time.Millisecond},
		{"prefetch, deadline 1s", []Option{WithPrefetch(64, 16, 0)}, time.Second, DefaultHedgeMax},
		{"prefetch, no hedging, timeout 300ms", []Option{WithPrefetch(64, 16, 0), WithHedging(0, 0), WithTimeout(300 * time.Millisecond)}, 0, 300 * time.Millisecond},
	}
	const slack = 250 * time.Millisecond // a healthy server's answer and a loaded machine
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := startServer(t, 1)
			c := newClient(t, blackholed(t), append(tt.opts, WithServers(good.URL))...)
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			_, err := c.NextID(ctx)
			d := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("first call: %v", d)
			if d > tt.bound+slack {
				t.Errorf("the first call took %v, want at most %v (+%v)", d, tt.bound, slack)
			}
		})
	}
}

// TestURLPasswordNeverShown: a server URL given with a password, in any shape (with or without
// scheme, a port, a path, a query, a fragment, a space, percent-escapes in the password, as the
// base URL or in WithServers), is refused with an error that holds no piece of the password, in any
// rendering. Generated from a seed: a failure names the case.
func TestURLPasswordNeverShown(t *testing.T) {
	shapes := []string{
		"http://user:%s@h.example:8910",
		"https://user:%s@h.example/",
		"user:%s@h.example:8910",
		"http://user:%s@h.example:8910/ids?n=1",
		"http://user:%s@h.example#frag",
		"ftp://user:%s@h.example",
		"http://user:%s@",
		"http://user:%s@h.example:99999",
		" http://user:%s@h.example ",
		"http://user:%s@h.example/a b",
		"http://user:%s@[::1:8910",
		"http://:%s@h.example",
		"http://user:%s@h.example@other",
	}
	escapes := []string{"%40", "%2F", "%3A", "%23", "%25", "%20", "%3F", "%E2%82%AC", "@", "/", "#", "%zz"}
	rng := rand.New(rand.NewPCG(42, 7))
	for i := range 300 {
		var pw strings.Builder
		for range 6 + rng.IntN(6) {
			if rng.IntN(4) == 0 {
				pw.WriteString(escapes[rng.IntN(len(escapes))])
			} else {
				pw.WriteByte("abcdefghijkmnpqrstuvwxyzQWERTY23456789"[rng.IntN(38)])
			}
		}
		secret := pw.String()
		raw := fmt.Sprintf(shapes[i%len(shapes)], secret)
		var opts []Option
		base := raw
		if i%2 == 1 {
			base, opts = "http://ok.example:1", []Option{WithServers(raw)}
		}
		c, err := New(base, opts...)
		if err == nil {
			c.Close()
			t.Fatalf("case %d: New accepted %q, want ErrInvalidURL (the client sends no credentials)", i, raw)
		}
		if !errors.Is(err, ErrInvalidURL) {
			t.Errorf("case %d: New(%q) = %v, want ErrInvalidURL", i, raw, err)
		}
		unescaped, _ := url.PathUnescape(secret)
		for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), fmt.Sprintf("%q", err)} {
			for _, piece := range secretPieces(secret, unescaped) {
				if strings.Contains(form, piece) {
					t.Errorf("case %d: the error for a URL with password %q shows %q: %s", i, secret, piece, form)
					break
				}
			}
		}
	}
}

// secretPieces returns the runs of 6 bytes of a password, as written and unescaped, that
// an error must not show.
func secretPieces(forms ...string) []string {
	var out []string
	for _, s := range forms {
		for i := 0; i+6 <= len(s); i++ {
			out = append(out, s[i:i+6])
		}
	}
	return out
}
