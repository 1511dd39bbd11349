package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// TestNextIDsBound: n outside [1, MaxNextIDs] is an error naming n and the range, before any
// request or allocation; the bound itself is allowed.
func TestNextIDsBound(t *testing.T) {
	ts := startServer(t, 1)
	c := newClient(t, ts.URL)
	rng := rand.New(rand.NewPCG(19, 1))
	bad := []int{0, -1, math.MinInt, MaxNextIDs + 1, 1 << 30, 1 << 62, math.MaxInt}
	for range 20 {
		bad = append(bad, MaxNextIDs+1+rng.IntN(math.MaxInt-MaxNextIDs-1), -rng.IntN(math.MaxInt))
	}
	for _, n := range bad {
		ids, err := c.NextIDs(context.Background(), n)
		if !errors.Is(err, ErrInvalidOption) || ids != nil {
			t.Fatalf("NextIDs(%d) = %d IDs, %v; want ErrInvalidOption", n, len(ids), err)
		}
		if msg := err.Error(); !strings.Contains(msg, strconv.Itoa(n)) || !strings.Contains(msg, fmt.Sprintf("[1, %d]", MaxNextIDs)) {
			t.Errorf("NextIDs(%d) error %q does not name n and the range [1, %d]", n, msg, MaxNextIDs)
		}
	}
	if h := ts.hits.Load(); h != 0 {
		t.Errorf("the server got %d requests for counts out of range, want 0", h)
	}
	ids, err := c.NextIDs(context.Background(), MaxNextIDs)
	if err != nil || len(ids) != MaxNextIDs {
		t.Fatalf("NextIDs(MaxNextIDs) = %d IDs, %v", len(ids), err)
	}
}

// TestNoRedirects: whatever 3xx status a server answers with and wherever its Location points (an
// unrelated host, or a path of its own), the client follows no redirect: the host named is never
// asked, no request carries the Referer that a followed redirect sets, and the call goes to the next
// configured server as after any failure of a server.
func TestNoRedirects(t *testing.T) {
	var evilHits, referred atomic.Int64
	evil := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		w.Write([]byte("1\n2\n3\n"))
	})
	good := startServer(t, 2)
	for status := 300; status < 400; status++ {
		for _, loc := range []string{evil.URL + "/", evil.URL + "/ids?n=3", "/", "/ids?n=3"} {
			red := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Referer") != "" {
					referred.Add(1)
				}
				w.Header().Set("Location", loc)
				w.WriteHeader(status)
			})
			for _, cfg := range []struct {
				name string
				hc   *http.Client
			}{{"own transport", nil}, {"WithHTTPClient", &http.Client{}}} {
				opts := []Option{WithLayout(snowfall.DefaultLayout())}
				if cfg.hc != nil {
					opts = append(opts, WithHTTPClient(cfg.hc))
				}
				// Alone, the call fails; a deadline shorter than the pause before a second round
				// keeps it to one request.
				alone := newClient(t, red.URL, opts...)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
				if id, err := alone.NextID(ctx); err == nil {
					t.Errorf("%d to %s, %s: NextID = %d, want an error", status, loc, cfg.name, id)
				}
				if ids, err := alone.NextIDs(ctx, 3); err == nil {
					t.Errorf("%d to %s, %s: NextIDs = %v, want an error", status, loc, cfg.name, ids)
				}
				cancel()
				two := newClient(t, red.URL, append(opts, WithServers(good.URL))...)
				id, err := two.NextID(context.Background())
				if err != nil || generatorOf(t, id) != 2 {
					t.Errorf("%d to %s, %s: NextID with a good second server = %d, %v; want an ID of generator 2", status, loc, cfg.name, id, err)
				}
			}
		}
	}
	if n := evilHits.Load(); n != 0 {
		t.Errorf("the host named by Location got %d requests, want 0", n)
	}
	if n := referred.Load(); n != 0 {
		t.Errorf("%d requests carried a Referer: redirects to the server itself were followed", n)
	}
}

// hostile is an ID server that answers from a real generator but replays or reorders IDs it has
// already sent, as a seeded generator of misbehaviour decides.
type hostile struct {
	t    *testing.T
	gen  *snowfall.Generator
	mu   sync.Mutex
	rng  *rand.Rand
	sent []snowfall.ID // the fresh IDs answered, in order
	bad  int           // answers that repeated IDs sent before
}

func newHostile(t *testing.T, seed uint64, gen int64) *hostile {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: gen}})
	if err != nil {
		t.Fatal(err)
	}
	return &hostile{t: t, gen: g, rng: rand.New(rand.NewPCG(seed, 7))}
}

// ids returns n IDs for one answer, strictly increasing: fresh ones, or (one answer in two) a run
// of IDs sent before.
func (h *hostile) ids(n int) []snowfall.ID {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.sent) >= n && h.rng.IntN(2) == 0 {
		h.bad++
		i := h.rng.IntN(len(h.sent) - n + 1)
		return append([]snowfall.ID(nil), h.sent[i:i+n]...)
	}
	out := make([]snowfall.ID, n)
	if _, err := h.gen.Fill(context.Background(), out); err != nil {
		h.t.Error(err)
	}
	h.sent = append(h.sent, out...)
	return out
}

func (h *hostile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/stats":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"layout":"snowfall","spec":%q,"epoch_ms":%d}`, snowfall.DefaultLayout().Spec(), snowfall.DefaultLayout().EpochMs())
	case "/":
		fmt.Fprintf(w, "%d", h.ids(1)[0])
	case "/ids":
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		var b strings.Builder
		for _, id := range h.ids(n) {
			fmt.Fprintf(&b, "%d\n", id)
		}
		w.Write([]byte(b.String()))
	default:
		http.NotFound(w, r)
	}
}

// TestReplaysRefused: a server that replays IDs it sent before, in later answers, never gets a
// repeated ID (or one below an ID of its generator received before) through to the caller, by
// NextID, NextIDs or prefetch; the refusals are ErrIDOrder errors. Seeded: a failure names its seed.
func TestReplaysRefused(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		for _, mode := range []string{"NextID", "NextIDs", "prefetch"} {
			t.Run(fmt.Sprintf("%s/seed=%d", mode, seed), func(t *testing.T) {
				h := newHostile(t, seed, 3)
				ts := startHandler(t, h.ServeHTTP)
				var opts []Option
				if mode == "prefetch" {
					opts = append(opts, WithPrefetch(8, 2, 0))
				}
				c := newClient(t, ts.URL, opts...)
				rng := rand.New(rand.NewPCG(seed, 3))
				// A first call with time to spare learns the layout from /stats (a call on a
				// 20 ms deadline might not, on a loaded machine, and would check nothing).
				last, err := c.NextID(context.Background())
				if err != nil && !errors.Is(err, ErrIDOrder) {
					t.Fatal(err)
				}
				refused := 0
				for range 60 {
					// Without prefetch, a deadline shorter than the pause before a second round
					// makes a refused answer the call's error.
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
					if mode == "prefetch" {
						ctx, cancel = context.WithCancel(context.Background())
					}
					var got []snowfall.ID
					var err error
					switch mode {
					case "NextIDs":
						got, err = c.NextIDs(ctx, 1+rng.IntN(40))
					default:
						var id snowfall.ID
						id, err = c.NextID(ctx)
						if err == nil {
							got = []snowfall.ID{id}
						}
					}
					cancel()
					if errors.Is(err, context.DeadlineExceeded) {
						continue // a slow moment of a loaded machine
					}
					if err != nil {
						if !errors.Is(err, ErrIDOrder) {
							t.Fatalf("error %v, want ErrIDOrder", err)
						}
						var oe *OrderError
						if !errors.As(err, &oe) || oe.ID > oe.Prev || oe.Server != ts.URL {
							t.Fatalf("error %v: want an *OrderError from %s with ID ≤ Prev", err, ts.URL)
						}
						refused++
						continue
					}
					for _, id := range got {
						if id <= last {
							t.Fatalf("the client returned %d after %d from one generator", id, last)
						}
						last = id
					}
				}
				// With prefetch, a refused answer makes the refill ask again (the only server,
				// after a pause), so the callers get fresh IDs; each refusal is counted.
				h.mu.Lock()
				bad := h.bad
				h.mu.Unlock()
				if bad == 0 {
					t.Fatal("the hostile server never misbehaved; the test proves nothing")
				}
				if st := c.ClientStats(); st.Refused < uint64(refused) || st.Refused == 0 {
					t.Errorf("ClientStats().Refused = %d after %d bad answers (%d calls failed)", st.Refused, bad, refused)
				}
			})
		}
	}
}

// TestNextIDsReplayedBatch: a server that answers every batch with the same IDs gets no second
// batch through (issue 19: NextIDs(200000) returned 100,000 duplicates).
func TestNextIDsReplayedBatch(t *testing.T) {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 4}})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]snowfall.ID, MaxBatch)
	if _, err := g.Fill(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	var body strings.Builder
	for _, id := range batch {
		fmt.Fprintf(&body, "%d\n", id)
	}
	ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			fmt.Fprintf(w, `{"spec":%q}`, snowfall.DefaultLayout().Spec())
			return
		}
		w.Write([]byte(body.String()))
	})
	c := newClient(t, ts.URL)
	ids, err := c.NextIDs(context.Background(), 2*MaxBatch)
	if !errors.Is(err, ErrIDOrder) || ids != nil {
		t.Fatalf("NextIDs(%d) from a server replaying its batch = %d IDs, %v; want ErrIDOrder", 2*MaxBatch, len(ids), err)
	}
}

// TestLegitimateOrders: what a sound fleet does never trips the check. Concurrent calls whose
// answers arrive out of order, generators interleaved by round-robin, takeovers of a generator id by
// another server above the old one's IDs, and a layout with dc and worker fields learned from
// /stats (decoded with the default layout, two workers would look like one generator going back).
func TestLegitimateOrders(t *testing.T) {
	t.Run("answers out of order", func(t *testing.T) {
		g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 5}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Config{Source: g})
		if err != nil {
			t.Fatal(err)
		}
		h := srv.Handler()
		var n atomic.Int64
		ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stats" {
				// The layout is learned while answers are in flight, as on a loaded machine
				// (CI once refused 3 honest answers that crossed the early ones).
				time.Sleep(3 * DefaultHedgeMax) // past the wait for the layout
			}
			rec := &delayed{header: http.Header{}}
			h.ServeHTTP(rec, r)
			if n.Add(1)%2 == 0 {
				time.Sleep(5 * time.Millisecond) // later requests overtake this answer
			}
			rec.flush(w)
		})
		c := newClient(t, ts.URL)
		checkUnique(t, collect(t, 8, 60, func() ([]snowfall.ID, error) { return nextOne(c) }))
		checkUnique(t, collect(t, 8, 20, func() ([]snowfall.ID, error) { return c.NextIDs(context.Background(), 5) }))
		if st := c.ClientStats(); st.Refused != 0 {
			t.Errorf("ClientStats().Refused = %d, want 0", st.Refused)
		}
	})
	t.Run("round robin over generators", func(t *testing.T) {
		a, b, d := startServer(t, 1), startServer(t, 2), startServer(t, 3)
		c := newClient(t, a.URL, WithServers(b.URL, d.URL), WithPolicy(RoundRobin), WithPrefetch(30, 5, 0))
		checkUnique(t, collect(t, 4, 200, func() ([]snowfall.ID, error) { return nextOne(c) }))
	})
	t.Run("takeover", func(t *testing.T) {
		// Generator 6 moves from server a to server b, which starts above a's last ID.
		a := startServer(t, 6)
		b := httptest.NewUnstartedServer(nil)
		t.Cleanup(b.Close)
		c := newClient(t, a.URL, WithServers("http://"+b.Listener.Addr().String()))
		last, err := c.NextID(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		time.Sleep(2 * time.Millisecond)
		g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 6}})
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Config{Source: g})
		if err != nil {
			t.Fatal(err)
		}
		b.Config.Handler = srv.Handler()
		b.Start()
		for range 20 {
			id, err := c.NextID(context.Background())
			if err != nil || id <= last {
				t.Fatalf("NextID after the takeover = %d, %v; want above %d", id, err, last)
			}
			last = id
		}
	})
	t.Run("dc and worker layout", func(t *testing.T) {
		l, err := snowfall.Preset(snowfall.PresetTwitter)
		if err != nil {
			t.Fatal(err)
		}
		var urls []string
		for w := range int64(3) {
			g, err := snowfall.New(snowfall.Settings{Layout: l, Node: snowfall.Node{DC: 1, Worker: w}})
			if err != nil {
				t.Fatal(err)
			}
			srv, err := server.New(server.Config{Source: g})
			if err != nil {
				t.Fatal(err)
			}
			urls = append(urls, startHandler(t, srv.Handler().ServeHTTP).URL)
		}
		c := newClient(t, urls[0], WithServers(urls[1:]...), WithPolicy(RoundRobin))
		checkUnique(t, collect(t, 3, 300, func() ([]snowfall.ID, error) { return nextOne(c) }))
	})
}

// delayed records an answer to send it later.
type delayed struct {
	header http.Header
	status int
	body   []byte
}

func (d *delayed) Header() http.Header { return d.header }
func (d *delayed) WriteHeader(s int)   { d.status = s }
func (d *delayed) Write(b []byte) (int, error) {
	d.body = append(d.body, b...)
	return len(b), nil
}
func (d *delayed) flush(w http.ResponseWriter) {
	for k, v := range d.header {
		w.Header()[k] = v
	}
	if d.status != 0 {
		w.WriteHeader(d.status)
	}
	w.Write(d.body)
}

// TestServerErrorBodies: whatever bytes a server sends as an error body (raw or as the message of
// an api.Error), the error the caller gets is valid UTF-8 without control or format characters, and
// the server's part of it is at most maxMessage bytes. Bodies are generated from a seed.
func TestServerErrorBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 4))
	var bodies [][]byte
	for range 300 {
		n := rng.IntN(2000)
		if rng.IntN(10) == 0 {
			n = 60 << 10
		}
		b := make([]byte, n)
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = byte(rng.IntN(256)) // any byte: controls, invalid UTF-8
			case 1:
				b[i] = byte(rng.IntN(32)) // C0 controls: newlines, escapes, NUL
			default:
				b[i] = byte(' ' + rng.IntN(95))
			}
		}
		// Multi-byte characters that are controls or formatting: C1, bidi overrides, zero widths.
		for range rng.IntN(5) {
			r := []rune{'\u0085', '\u009b', '\u202e', '\u2066', '\u200b', '\ufeff', '\u00e9', '\u2028'}[rng.IntN(8)]
			at := rng.IntN(len(b) + 1)
			b = append(b[:at], append([]byte(string(r)), b[at:]...)...)
		}
		bodies = append(bodies, b)
	}
	for i, b := range bodies {
		for _, asJSON := range []bool{false, true} {
			body := b
			if asJSON {
				body = []byte(fmt.Sprintf(`{"error":%s}`, strconv.Quote(strings.ToValidUTF8(string(b), "\ufffd"))))
			}
			// 4xx ends a call at once; a few 5xx (whose call asks again for 250 ms) cover them.
			status := []int{400, 404, 409, 418, 422, 451}[rng.IntN(6)]
			if i < 6 {
				status = []int{429, 500, 503}[i%3]
			}
			ts := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				w.Write(body)
			})
			c := newClient(t, ts.URL, WithLayout(snowfall.DefaultLayout()))
			_, err := c.NextID(context.Background())
			var se *ServerError
			if !errors.As(err, &se) {
				t.Fatalf("body %d: error %v, want a ServerError", i, err)
			}
			if len(se.Message) > maxMessage+len("… (clipped)") {
				t.Errorf("body %d (json %v): message of %d bytes, want at most %d", i, asJSON, len(se.Message), maxMessage)
			}
			if bad := unprintable(err.Error()); bad != "" {
				t.Fatalf("body %d (json %v): error text holds %s: %q", i, asJSON, bad, err.Error())
			}
			ts.Close()
		}
	}
}

// unprintable describes the first character of s a terminal or log would not show as itself.
func unprintable(s string) string {
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("%U", r)
		}
	}
	return ""
}

// FuzzPrintable: whatever a server sends, the text that reaches an error is valid UTF-8 without
// control or format characters, and at most maxMessage bytes and the clip mark.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "fenced", "a\x1b[31mred\x1b[0m", "\xff\xfe", "\u202egnirts", "line\nbreak\r\n", strings.Repeat("é", 600)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := printable(s)
		if len(p) > maxMessage+len(clipped) {
			t.Errorf("printable(%q) is %d bytes", s, len(p))
		}
		if bad := unprintable(p); bad != "" {
			t.Errorf("printable(%q) = %q holds %s", s, p, bad)
		}
		if len(s) <= maxMessage/4 && unprintable(s) == "" && p != s {
			t.Errorf("printable(%q) = %q changed a short printable text", s, p)
		}
	})
}
