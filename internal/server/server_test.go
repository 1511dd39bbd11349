package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

// newServer starts a server for a generator with node n of layout l on a random loopback port.
func newServer(t *testing.T, src snowfall.Source, cfg server.Config) string {
	t.Helper()
	cfg.Source = src
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts.URL
}

func newGenerator(t *testing.T, s snowfall.Settings) *snowfall.Generator {
	t.Helper()
	g, err := snowfall.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

type answer struct {
	code   int
	header http.Header
	body   string
}

func do(t *testing.T, method, url string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func TestID(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{Node: snowfall.Node{Generator: 7}})
	url := newServer(t, g, server.Config{})
	a := do(t, "GET", url+"/")
	if a.code != 200 {
		t.Fatalf("GET /: code %d, body %q", a.code, a.body)
	}
	if got, want := a.header.Get("Content-Type"), "application/json"; got != want {
		t.Errorf("Content-Type %q, want %q", got, want)
	}
	v, err := strconv.ParseInt(a.body, 10, 64)
	if err != nil {
		t.Fatalf("body %q is not a bare decimal: %v", a.body, err)
	}
	p, err := g.Layout().Decode(snowfall.ID(v))
	if err != nil {
		t.Fatal(err)
	}
	if p.Generator != 7 {
		t.Errorf("generator %d, want 7", p.Generator)
	}
	var j int64
	if err := json.Unmarshal([]byte(a.body), &j); err != nil || j != v {
		t.Errorf("body %q is not the JSON number %d: %v", a.body, v, err)
	}
}

func TestIDs(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{Node: snowfall.Node{Generator: 3}})
	url := newServer(t, g, server.Config{})
	for _, n := range []int{1, 2, 4096, 10000, 100000} {
		t.Run(strconv.Itoa(n)+"/text", func(t *testing.T) {
			a := do(t, "GET", url+"/ids?n="+strconv.Itoa(n))
			if a.code != 200 {
				t.Fatalf("code %d, body %q", a.code, a.body)
			}
			if got, want := a.header.Get("Content-Type"), "text/plain; charset=utf-8"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			lines := strings.Split(strings.TrimSuffix(a.body, "\n"), "\n")
			checkIncreasing(t, lines, n)
		})
		t.Run(strconv.Itoa(n)+"/json", func(t *testing.T) {
			a := do(t, "GET", url+"/ids?n="+strconv.Itoa(n), "Accept", "application/json")
			if a.code != 200 {
				t.Fatalf("code %d, body %q", a.code, a.body)
			}
			if got, want := a.header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			var body struct{ IDs []string }
			if err := json.Unmarshal([]byte(a.body), &body); err != nil {
				t.Fatalf("body %.100q: %v", a.body, err)
			}
			checkIncreasing(t, body.IDs, n)
		})
	}
}

func checkIncreasing(t *testing.T, ids []string, n int) {
	t.Helper()
	if len(ids) != n {
		t.Fatalf("got %d IDs, want %d", len(ids), n)
	}
	prev := int64(-1)
	for _, s := range ids {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("ID %q: %v", s, err)
		}
		if v <= prev {
			t.Fatalf("ID %d after %d", v, prev)
		}
		prev = v
	}
}

func TestBadInput(t *testing.T) {
	url := newServer(t, newGenerator(t, snowfall.Settings{}), server.Config{})
	for _, c := range []struct {
		name, method, path string
		code               int
		mention            string
	}{
		{"n=0", "GET", "/ids?n=0", 400, "n=0"},
		{"n=abc", "GET", "/ids?n=abc", 400, "abc"},
		{"n=100001", "GET", "/ids?n=100001", 400, "100000"},
		{"n=1000001", "GET", "/ids?n=1000001", 400, "1000001"},
		{"n=-1", "GET", "/ids?n=-1", 400, "-1"},
		{"n empty", "GET", "/ids?n=", 400, "n"},
		{"no n", "GET", "/ids", 400, "missing"},
		{"malformed id", "GET", "/decode/12ab", 400, "12ab"},
		{"negative id", "GET", "/decode/-5", 400, "-5"},
		{"id too big", "GET", "/decode/99999999999999999999", 400, "99999999999999999999"},
		{"unknown path", "GET", "/nope", 404, "/nope"},
		{"unknown subpath", "GET", "/stats/x", 404, "/stats/x"},
		{"decode without id", "GET", "/decode/", 404, "/decode/"},
		{"POST /", "POST", "/", 405, "POST"},
		{"DELETE /ids", "DELETE", "/ids?n=1", 405, "DELETE"},
		{"PUT /stats", "PUT", "/stats", 405, "PUT"},
		{"POST /decode", "POST", "/decode/1", 405, "POST"},
		{"POST /metrics", "POST", "/metrics", 405, "POST"},
		{"POST /healthz", "POST", "/healthz", 405, "POST"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := do(t, c.method, url+c.path)
			if a.code != c.code {
				t.Fatalf("code %d, want %d (body %q)", a.code, c.code, a.body)
			}
			if got, want := a.header.Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type %q, want %q", got, want)
			}
			var body struct{ Error string }
			if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.Error == "" {
				t.Fatalf("body %q is not {\"error\":…}: %v", a.body, err)
			}
			if !strings.Contains(body.Error, c.mention) {
				t.Errorf("error %q does not mention %q", body.Error, c.mention)
			}
			if c.code == 405 {
				if got, want := a.header.Get("Allow"), "GET, HEAD"; got != want {
					t.Errorf("Allow %q, want %q", got, want)
				}
			}
		})
	}
}

func TestDecode(t *testing.T) {
	l, err := snowfall.Preset(snowfall.PresetPysnowflake)
	if err != nil {
		t.Fatal(err)
	}
	g := newGenerator(t, snowfall.Settings{Layout: l, Node: snowfall.Node{DC: 5, Worker: 200}})
	url := newServer(t, g, server.Config{})
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	a := do(t, "GET", url+"/decode/"+id.String())
	if a.code != 200 {
		t.Fatalf("code %d, body %q", a.code, a.body)
	}
	var got snowfall.Decoded
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	want, err := snowfall.DecodeString(l, id.String())
	if err != nil {
		t.Fatal(err)
	}
	if got != want || got.DC != 5 || got.Worker != 200 || strings.Contains(a.body, "generator") {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
}

func TestStats(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{Node: snowfall.Node{Generator: 9}})
	url := newServer(t, g, server.Config{})
	for range 3 {
		do(t, "GET", url+"/")
	}
	a := do(t, "GET", url+"/stats")
	if a.code != 200 {
		t.Fatalf("code %d, body %q", a.code, a.body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dc", "worker", "timestamp", "last_timestamp", "sequence", "sequence_overload", "errors",
		"generator", "layout", "epoch_ms", "ids_generated", "uptime_s"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no key %q in %s", k, a.body)
		}
	}
	if got, want := m["ids_generated"], 3.0; got != want {
		t.Errorf("ids_generated %v, want %v", got, want)
	}
	if got, want := m["generator"], 9.0; got != want {
		t.Errorf("generator %v, want %v", got, want)
	}
	if got, want := m["layout"], "snowfall"; got != want {
		t.Errorf("layout %v, want %v", got, want)
	}
	if _, ok := m["lease"]; ok {
		t.Errorf("lease in the stats of a static generator: %s", a.body)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	if a := do(t, "GET", url+"/healthz"); a.code != 200 || a.body != "ok\n" {
		t.Errorf("healthz: %d %q, want 200 \"ok\\n\"", a.code, a.body)
	}
	do(t, "GET", url+"/")
	do(t, "GET", url+"/ids?n=10")
	do(t, "GET", url+"/ids?n=0")
	a := do(t, "GET", url+"/metrics")
	if a.code != 200 {
		t.Fatalf("metrics: code %d", a.code)
	}
	for _, want := range []string{
		"snowfall_ids_issued_total 11",
		"snowfall_sequence_overloads_total ",
		"snowfall_clock_backwards_total 0",
		"snowfall_layout_remaining_seconds ",
		`snowfall_http_requests_total{code="200",handler="id"} 1`,
		`snowfall_http_requests_total{code="200",handler="ids"} 1`,
		`snowfall_http_requests_total{code="400",handler="ids"} 1`,
		`snowfall_http_request_duration_seconds_count{handler="ids"} 2`,
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestHead checks that HEAD on the ID paths answers like GET would, without spending an ID.
func TestHead(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	for _, c := range []struct{ path, accept, ctype string }{
		{"/", "", "application/json"},
		{"/ids?n=5", "", "text/plain; charset=utf-8"},
		{"/ids?n=5", "application/json", "application/json"},
	} {
		a := do(t, "HEAD", url+c.path, "Accept", c.accept)
		if a.code != 200 || a.header.Get("Content-Type") != c.ctype || a.body != "" {
			t.Errorf("HEAD %s (Accept %q): %d, Content-Type %q, body %q; want 200, %q, no body",
				c.path, c.accept, a.code, a.header.Get("Content-Type"), a.body, c.ctype)
		}
	}
	if a := do(t, "HEAD", url+"/ids?n=0"); a.code != 400 {
		t.Errorf("HEAD /ids?n=0: %d, want 400", a.code)
	}
	if got := g.Stats().Issued; got != 0 {
		t.Errorf("after HEAD requests the generator issued %d IDs, want 0", got)
	}
	g.Revoke(nil)
	if a := do(t, "HEAD", url+"/"); a.code != 503 || a.header.Get("Retry-After") == "" {
		t.Errorf("HEAD / while fenced: %d, Retry-After %q; want 503 with Retry-After", a.code, a.header.Get("Retry-After"))
	}
}

// TestFenced checks that a generator that may not issue gets 503 with Retry-After, at once.
func TestFenced(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	g.Revoke(nil)
	url := newServer(t, g, server.Config{})
	for _, path := range []string{"/", "/ids?n=5"} {
		start := time.Now()
		a := do(t, "GET", url+path)
		if a.code != 503 || a.header.Get("Retry-After") == "" || !strings.Contains(a.body, "fenced") {
			t.Errorf("%s: %d, Retry-After %q, body %q; want 503, Retry-After, fenced", path, a.code, a.header.Get("Retry-After"), a.body)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s took %v", path, d)
		}
	}
	if a := do(t, "GET", url+"/healthz"); a.code != 503 || !strings.Contains(a.body, "fenced") {
		t.Errorf("healthz: %d %q, want 503 naming the fence", a.code, a.body)
	}
	a := do(t, "GET", url+"/stats")
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatal(err)
	}
	if got, want := m["errors"], 2.0; got != want {
		t.Errorf("errors %v, want %v", got, want)
	}
}

// TestClockBehind checks that a clock far behind gets 503 and Retry-After, not a wait: at once when
// it is behind by more than the generator waits for, else when the request's deadline passes.
func TestClockBehind(t *testing.T) {
	for _, c := range []struct {
		name    string
		maxBack time.Duration
		retry   string
	}{
		{"beyond MaxBackwards", time.Second, "5"},
		{"request deadline", 10 * time.Second, "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := fakeclock.Following(0)
			g := newGenerator(t, snowfall.Settings{Clock: clock, MaxBackwards: c.maxBack})
			url := newServer(t, g, server.Config{Timeout: 200 * time.Millisecond})
			if a := do(t, "GET", url+"/"); a.code != 200 {
				t.Fatalf("code %d before the step", a.code)
			}
			clock.SetOffset(-4500 * time.Millisecond)
			start := time.Now()
			// The last tick's sequence is used up first; then the generator would wait. (One chunk
			// of a streamed batch, 4096 IDs, is all or nothing.)
			a := do(t, "GET", url+"/ids?n=4096")
			if a.code != 503 || a.header.Get("Retry-After") != c.retry {
				t.Errorf("clock 4.5s behind: %d, Retry-After %q, body %q; want 503 with Retry-After %s",
					a.code, a.header.Get("Retry-After"), a.body, c.retry)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("answer took %v, want at most the 200ms timeout", d)
			}
		})
	}
}

// TestConcurrentUnique checks that concurrent clients never get the same ID.
func TestConcurrentUnique(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	const clients, each = 16, 200
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := range each {
				path := "/"
				if i%10 == 0 {
					path = "/ids?n=50"
				}
				resp, err := http.Get(url + path)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("%s: %d %v", path, resp.StatusCode, err)
					return
				}
				mu.Lock()
				for _, id := range strings.Fields(string(b)) {
					if seen[id] {
						t.Errorf("duplicate ID %s", id)
					}
					seen[id] = true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if got, want := len(seen), clients*(each*9/10+each/10*50); got != want {
		t.Errorf("%d distinct IDs, want %d", got, want)
	}
}

// serve runs Serve for a server with cfg on a random loopback port, and returns its base URL, the
// cancel function of Serve's context, and the channel Serve's result arrives on.
func serve(t *testing.T, cfg server.Config) (url string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- srv.Serve(ctx, ln) }()
	return "http://" + ln.Addr().String(), cancel, result
}

// TestServeShutdown checks that Serve answers on a listener and returns nil once its context is done,
// after finishing requests in flight.
func TestServeShutdown(t *testing.T) {
	url, cancel, done := serve(t, server.Config{Source: newGenerator(t, snowfall.Settings{})})
	if a := do(t, "GET", url+"/"); a.code != 200 {
		t.Fatalf("code %d", a.code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get(url + "/"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// slowSource holds every NextContext until release is closed.
type slowSource struct {
	snowfall.Source
	entered chan struct{}
	release chan struct{}
}

func (s *slowSource) NextContext(ctx context.Context) (snowfall.ID, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.Source.NextContext(ctx)
}

// TestShutdownFinishesInFlight checks that Serve, once its context is done, lets a request in
// flight finish with its ID before it returns.
func TestShutdownFinishesInFlight(t *testing.T) {
	src := &slowSource{Source: newGenerator(t, snowfall.Settings{}), entered: make(chan struct{}, 1), release: make(chan struct{})}
	url, cancel, served := serve(t, server.Config{Source: src, Timeout: 10 * time.Second})
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(url + "/")
		if err != nil {
			got <- answer{body: err.Error()}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- answer{code: resp.StatusCode, body: string(b)}
	}()
	<-src.entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(src.release)
	a := <-got
	if _, err := strconv.ParseInt(a.body, 10, 64); a.code != 200 || err != nil {
		t.Errorf("request in flight at shutdown: %d %q, want 200 and an ID", a.code, a.body)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the request finished")
	}
}

// panicSource panics in NextContext, and in Fill after fills calls.
type panicSource struct {
	snowfall.Source
	fills atomic.Int32
	after int32
}

func (p *panicSource) NextContext(context.Context) (snowfall.ID, error) {
	panic("boom: a bug in the source")
}

func (p *panicSource) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	if p.fills.Add(1) > p.after {
		panic("boom: a bug in the source")
	}
	return p.Source.Fill(ctx, ids)
}

// TestHandlerPanic: a panic in a handler is answered 500 with a JSON error when nothing was sent
// yet (else the answer is cut off), and logged through the server's logger at ERROR with the
// method and path: not the query or headers, where secrets travel, and not by net/http's own
// logger.
func TestHandlerPanic(t *testing.T) {
	log := &lockedWriter{b: &strings.Builder{}}
	src := &panicSource{Source: newGenerator(t, snowfall.Settings{}), after: 1}
	url := newServer(t, src, server.Config{Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	a := do(t, "GET", url+"/?token=hunter2", "Authorization", "Bearer hunter2")
	if a.code != 500 || !strings.Contains(a.body, `"error"`) || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("GET / with a panicking source: %d %q (%s), want 500 with a JSON error", a.code, a.body, a.header.Get("Content-Type"))
	}
	resp, err := http.Get(url + "/ids?n=5000") // the first chunk is sent before the second fill panics
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Errorf("/ids whose second chunk panicked read whole (%d): want it cut off", resp.StatusCode)
	}
	time.Sleep(50 * time.Millisecond) // the server logs after the client sees the close
	lw := log.String()
	var errs []string
	for _, line := range strings.Split(lw, "\n") {
		if strings.Contains(line, "level=ERROR") {
			errs = append(errs, line)
		}
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "path=/ ") || !strings.Contains(errs[1], "path=/ids") || !strings.Contains(lw, "boom") {
		t.Errorf("want 2 ERROR lines naming the paths / and /ids and the panic; log:\n%s", lw)
	}
	for _, bad := range []string{"hunter2", "http: panic serving"} {
		if strings.Contains(lw, bad) {
			t.Errorf("the log has %q:\n%s", bad, lw)
		}
	}
}
