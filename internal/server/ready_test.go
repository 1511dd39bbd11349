package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestProbes checks /livez (always 200) and /readyz, /healthz (what GET / would answer, without
// spending an ID, with Retry-After and a reason when not ready).
func TestProbes(t *testing.T) {
	ranOut, err := snowfall.DefaultLayout().WithEpoch(time.UnixMilli(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		s      snowfall.Settings
		code   int
		reason string
		retry  string
	}{
		{"ready", snowfall.Settings{}, 200, "ok", ""},
		{"mark ahead", snowfall.Settings{After: time.Now().Add(90 * time.Second)}, 503, "clock behind", "90"},
		{"layout ran out", snowfall.Settings{Layout: ranOut}, 503, "ran out", "86400"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGenerator(t, c.s)
			url := newServer(t, g, server.Config{})
			for _, path := range []string{"/readyz", "/healthz"} {
				a := do(t, "GET", url+path)
				if a.code != c.code || !strings.Contains(a.body, c.reason) || a.header.Get("Retry-After") != c.retry {
					t.Errorf("%s: %d %q Retry-After %q; want %d %q Retry-After %q", path, a.code, a.body, a.header.Get("Retry-After"), c.code, c.reason, c.retry)
				}
				if got := a.header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", path, got)
				}
			}
			if a := do(t, "GET", url+"/livez"); a.code != 200 {
				t.Errorf("/livez: %d %q, want 200", a.code, a.body)
			}
			if a := do(t, "HEAD", url+"/"); a.code != c.code {
				t.Errorf("HEAD /: %d, want %d", a.code, c.code)
			}
			if n := g.Stats().Issued; n != 0 {
				t.Errorf("probes issued %d IDs", n)
			}
			if a := do(t, "GET", url+"/"); a.code != c.code {
				t.Errorf("GET /: %d %q, want %d as the probes said", a.code, a.body, c.code)
			}
		})
	}
}

// TestPublicBodies: anonymous clients learn what is wrong, not the store's address, user or the
// error text; last_error goes once the lease is held again, and the log keeps the details.
func TestPublicBodies(t *testing.T) {
	const detail = "dial tcp 10.1.2.3:5432: user=alice database=orders"
	a := memassign.New(nil)
	log := &lockedWriter{b: &strings.Builder{}}
	logger := slog.New(slog.NewTextHandler(log, nil))
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Probe: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	url := newServer(t, l, server.Config{Logger: logger})

	a.Fail(errors.New(detail))
	deadline := time.Now().Add(3 * time.Second)
	for do(t, "GET", url+"/readyz").code != 503 {
		if time.Now().After(deadline) {
			t.Fatal("not fenced 3s after the store failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	bodies := map[string]string{}
	for _, path := range []string{"/", "/ids?n=3", "/readyz", "/healthz", "/stats"} {
		bodies[path] = do(t, "GET", url+path).body
	}
	bodies["HEAD /"] = do(t, "HEAD", url+"/").body
	for path, body := range bodies {
		for _, secret := range []string{"10.1.2.3", "alice", "orders", "5432"} {
			if strings.Contains(body, secret) {
				t.Errorf("%s shows %q: %s", path, secret, body)
			}
		}
	}
	if !strings.Contains(bodies["/readyz"], "lease") {
		t.Errorf("/readyz %q does not say the lease is the problem", bodies["/readyz"])
	}
	var st api.Stats
	if err := json.Unmarshal([]byte(bodies["/stats"]), &st); err != nil || st.Lease == nil || st.Lease.LastError == "" {
		t.Errorf("/stats has no last_error while fenced: %s", bodies["/stats"])
	}

	a.Fail(nil)
	for do(t, "GET", url+"/readyz").code != 200 {
		if time.Now().After(deadline.Add(3 * time.Second)) {
			t.Fatal("not ready again 3s after the store recovered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if body := do(t, "GET", url+"/stats").body; strings.Contains(body, "last_error") {
		t.Errorf("last_error stays after recovery: %s", body)
	}
	if lw := log.String(); !strings.Contains(lw, "not ready") || !strings.Contains(lw, "ready: IDs are issued again") {
		t.Errorf("log lacks the change of readiness: %s", lw)
	}
}

// lockedWriter lets a test read a log that the server writes from other goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestReadinessLoggedOncePerChange: while a server cannot issue, anonymous requests do not grow the
// log: the state is logged when it changes, whatever the wait left, and refusals are counted.
func TestReadinessLoggedOncePerChange(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{After: time.Now().Add(90 * time.Second)})
	log := &lockedWriter{b: &strings.Builder{}}
	url := newServer(t, g, server.Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	paths := []string{"/", "/readyz", "/ids?n=2", "/healthz"}
	idRequests := 0
	requests := func(n int) {
		for i := range n {
			p := paths[i%len(paths)]
			if a := do(t, "GET", url+p); a.code != 503 {
				t.Fatalf("GET %s: %d %q, want 503", p, a.code, a.body)
			}
			if p == "/" || p == "/ids?n=2" {
				idRequests++
			}
			time.Sleep(time.Millisecond) // the wait left changes between requests
		}
	}
	requests(300)
	if n := strings.Count(log.String(), "\n"); n != 1 {
		t.Errorf("300 refused requests wrote %d log lines, want 1:\n%s", n, log.String())
	}
	g.Revoke(nil) // a change of state: fenced
	requests(100)
	if n := strings.Count(log.String(), "\n"); n != 2 {
		t.Errorf("after a change of state and 100 more requests: %d log lines, want 2:\n%s", n, log.String())
	}
	want := "snowfall_id_requests_refused_total " + strconv.Itoa(idRequests)
	if body := do(t, "GET", url+"/metrics").body; !strings.Contains(body, want+"\n") {
		t.Errorf("metrics lack %q", want)
	}
}

// readinessLines returns the lines of log that say the server's readiness changed.
func readinessLines(log string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "ready") {
			out = append(out, line)
		}
	}
	return out
}

// TestReadinessLogSteadyWhileFenced: while a leased server stays fenced, whichever requests come
// (ID requests, whose error is the generator's, and probes, whose is the lease's) and however the
// store's failures are worded, the log says "not ready" once.
func TestReadinessLogSteadyWhileFenced(t *testing.T) {
	a := memassign.New(nil)
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Probe: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	log := &lockedWriter{b: &strings.Builder{}}
	url := newServer(t, l, server.Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	a.Fail(errors.New("store unreachable"))
	deadline := time.Now().Add(3 * time.Second)
	for do(t, "GET", url+"/readyz").code != 503 || do(t, "GET", url+"/").code != 503 {
		if time.Now().After(deadline) {
			t.Fatal("not fenced 3s after the store failed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	causes := []error{errors.New("store unreachable"), context.DeadlineExceeded, snowfall.ErrNoFreeGenerator}
	for i := range 60 {
		a.Fail(causes[i%len(causes)]) // the renewals fail each their own way
		for _, p := range []string{"/", "/readyz", "/ids?n=2", "/healthz"} {
			if got := do(t, "GET", url+p).code; got != 503 {
				t.Fatalf("GET %s: %d while fenced, want 503", p, got)
			}
		}
		do(t, "HEAD", url+"/")
		time.Sleep(5 * time.Millisecond)
	}
	if lines := readinessLines(log.String()); len(lines) != 1 {
		t.Errorf("the log says the readiness changed %d times while it stayed fenced, want once:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

// TestReadinessLogAlternates: with readiness changing while many clients ask, the log's lines
// alternate between ready and not ready (no change logged twice, none out of order), and the last
// one says what the server is now.
func TestReadinessLogAlternates(t *testing.T) {
	a := memassign.New(nil)
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Probe: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	log := &lockedWriter{b: &strings.Builder{}}
	url := newServer(t, l, server.Config{Logger: slog.New(slog.NewTextHandler(log, nil))})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths := []string{"/", "/readyz", "/ids?n=2", "/healthz"}
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				do(t, "GET", url+paths[(i+j)%len(paths)])
			}
		}()
	}
	for i := range 8 {
		if i%2 == 0 {
			a.Fail(errors.New("store unreachable"))
		} else {
			a.Fail(nil)
		}
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	final := do(t, "GET", url+"/readyz").code
	lines := readinessLines(log.String())
	if len(lines) == 0 {
		t.Fatal("no readiness lines logged")
	}
	for i := 1; i < len(lines); i++ {
		if strings.Contains(lines[i], "not ready") == strings.Contains(lines[i-1], "not ready") {
			t.Errorf("lines %d and %d say the same readiness:\n%s\n%s", i-1, i, lines[i-1], lines[i])
		}
	}
	if last := lines[len(lines)-1]; strings.Contains(last, "not ready") != (final != 200) {
		t.Errorf("the last line %q, but /readyz answers %d", last, final)
	}
	t.Logf("%d readiness lines over 8 changes:\n%s", len(lines), strings.Join(lines, "\n"))
}
