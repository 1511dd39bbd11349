package client

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/snowfall-go/snowfall"
)

// resetDefault forgets the default client, before and after the test.
func resetDefault(t *testing.T) {
	t.Helper()
	reset := func() {
		if old := stdPtr.Swap(nil); old != nil && old.c != nil {
			old.c.Close()
		}
	}
	reset()
	t.Cleanup(reset)
}

func TestDefaultPointsAtLocalhost(t *testing.T) {
	resetDefault(t)
	s := defaultClient()
	if s.err != nil {
		t.Fatalf("default client: %v", s.err)
	}
	if got := s.c.Servers(); len(got) != 1 || got[0] != "http://localhost:8910" {
		t.Errorf("default servers = %v, want [http://localhost:8910]", got)
	}
}

func TestSetupGetGUID(t *testing.T) {
	resetDefault(t)
	ts := startServer(t, 7)
	host, port := splitHostPort(t, ts.URL)
	Setup(host, port)

	var wg sync.WaitGroup
	ids := make([][]snowfall.ID, 16)
	for i := range ids {
		wg.Go(func() {
			for range 50 {
				id, err := GetGUID()
				if err != nil {
					t.Errorf("GetGUID: %v", err)
					return
				}
				ids[i] = append(ids[i], id)
			}
		})
	}
	wg.Wait()
	var all []snowfall.ID
	for _, s := range ids {
		all = append(all, s...)
	}
	checkUnique(t, all)
	if g := generatorOf(t, all[0]); g != 7 {
		t.Errorf("generator of %d = %d, want 7", all[0], g)
	}
	st, err := GetStats()
	if err != nil {
		t.Fatalf("GetStats: %v", err)
	}
	if st.Generator == nil || *st.Generator != 7 || st.IDsGenerated < uint64(len(all)) {
		t.Errorf("GetStats() = %+v, want generator 7 and ids_generated >= %d", st, len(all))
	}

	// Setup again: calls go to the new server.
	other := startServer(t, 8)
	host, port = splitHostPort(t, other.URL)
	Setup(host, port)
	id, err := GetGUID()
	if err != nil || generatorOf(t, id) != 8 {
		t.Errorf("GetGUID after a second Setup = %d, %v, want an ID of generator 8", id, err)
	}
}

func TestSetupBadHost(t *testing.T) {
	resetDefault(t)
	Setup("", 8910)
	if _, err := GetGUID(); !errors.Is(err, ErrInvalidURL) {
		t.Errorf("GetGUID after Setup(\"\", 8910) error = %v, want ErrInvalidURL", err)
	}
}

func splitHostPort(t *testing.T, rawURL string) (string, int) {
	t.Helper()
	host, p, err := net.SplitHostPort(rawURL[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// TestKeepAlive checks that calls reuse connections instead of dialling.
func TestKeepAlive(t *testing.T) {
	ts := startServer(t, 1)
	var dials atomic.Int64
	counted := httptest.NewUnstartedServer(ts.Config.Handler)
	counted.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dials.Add(1)
		}
	}
	counted.Start()
	t.Cleanup(counted.Close)
	c := newClient(t, counted.URL)
	collect(t, 1, 200, func() ([]snowfall.ID, error) { return nextOne(c) })
	// The layout is learned (GET /stats) while the first call's request is under way: two
	// connections at most, then every call reuses one.
	if n := dials.Load(); n > 2 {
		t.Errorf("200 sequential calls opened %d connections, want at most 2", n)
	}
	dials.Store(0)
	collect(t, 16, 100, func() ([]snowfall.ID, error) { return nextOne(c) })
	// The transport may dial for a caller while another's connection turns idle, and keeps both:
	// a few more than 16 connections, never one per call.
	if n := dials.Load(); n > 32 {
		t.Errorf("16 callers making 1600 calls opened %d more connections, want at most 32", n)
	}
}
