package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// serveAdmin runs ServeAdmin for cfg on two loopback listeners and returns the API's and the admin
// listener's addresses; the server stops when the test ends.
func serveAdmin(t *testing.T, cfg server.Config) (api, admin string) {
	t.Helper()
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	aln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeAdmin(ctx, ln, aln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String(), aln.Addr().String()
}

// dialN opens n connections to addr, each sending prefix; with a whole request as prefix, each
// reads its answer and stays open, idle. They are closed when the test ends.
func dialN(t *testing.T, addr string, n int, prefix string) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if prefix == "" {
			continue
		}
		fmt.Fprint(c, prefix)
		if strings.HasSuffix(prefix, "\r\n\r\n") {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("connection %d of %d: %v", len(conns), n, err)
			}
			io.ReadAll(resp.Body)
		}
	}
	time.Sleep(50 * time.Millisecond) // let the server take in the last ones
	return conns
}

const idleRequest = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"

// probeWithin GETs path from addr on a new connection and fails the test unless it answers code
// within limit; it returns how long the answer took.
func probeWithin(t *testing.T, addr, path string, code int, limit time.Duration) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: limit, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := c.Get("http://" + addr + path)
	took := time.Since(start)
	if err != nil {
		t.Errorf("%s: no answer within %v: %v", path, limit, err)
		return took
	}
	resp.Body.Close()
	if resp.StatusCode != code {
		t.Errorf("%s: %d, want %d", path, resp.StatusCode, code)
	}
	return took
}

// TestProbesAtConnCap: with the connection cap full of idle keep-alive connections, of new ones
// that send nothing, or (on the admin listener's side) of requests that do not finish, /livez and
// /readyz still answer within a bound.
func TestProbesAtConnCap(t *testing.T) {
	const bound = 3 * time.Second
	probes := func(t *testing.T, addr string) {
		t.Helper()
		live := probeWithin(t, addr, "/livez", 200, bound)
		ready := probeWithin(t, addr, "/readyz", 200, bound)
		t.Logf("/livez answered in %v, /readyz in %v", live.Round(time.Microsecond), ready.Round(time.Microsecond))
	}
	for _, c := range []struct {
		name   string
		max    int // 0: the default
		prefix string
	}{
		{"20 idle", 20, idleRequest},
		{"1024 idle, default cap", 0, idleRequest},
		{"20 silent", 20, ""},
		{"20 half a header", 20, "GET /livez HTTP/1.1\r\nHo"},
	} {
		t.Run(c.name, func(t *testing.T) {
			api, _ := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{}), MaxConns: c.max})
			n := c.max
			if n == 0 {
				n = server.DefaultMaxConns
			}
			dialN(t, api, n, c.prefix)
			probes(t, api)
		})
	}
	t.Run("admin, API busy", func(t *testing.T) {
		src := &slowSource{Source: newGenerator(t, snowfall.Settings{}), entered: make(chan struct{}, 8), release: make(chan struct{})}
		api, admin := serveAdmin(t, server.Config{Source: src, MaxConns: 4, Timeout: time.Minute})
		busy := dialN(t, api, 4, "")
		for _, c := range busy {
			fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			<-src.entered
		}
		probes(t, admin)
		c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
		if resp, err := c.Get("http://" + api + "/livez"); err == nil {
			resp.Body.Close()
			t.Errorf("the API answered /livez with every connection busy: the test does not fill it")
		}
		close(src.release)
		probeWithin(t, api, "/livez", 200, bound)
	})
	t.Run("admin full of idle and silent connections", func(t *testing.T) {
		_, admin := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{})})
		dialN(t, admin, server.DefaultAdminMaxConns/2, idleRequest)
		dialN(t, admin, server.DefaultAdminMaxConns/2, "")
		probes(t, admin)
	})
}

// TestReclaimMetrics: /metrics counts the connections open and reclaimed on each listener.
func TestReclaimMetrics(t *testing.T) {
	api, admin := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{}), MaxConns: 3})
	dialN(t, api, 3, idleRequest)
	probeWithin(t, api, "/livez", 200, 3*time.Second) // reclaims one
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`snowfall_http_connections_reclaimed_total{listener="api"} 1`,
		`snowfall_http_connections_reclaimed_total{listener="admin"} 0`,
		`snowfall_http_connections_open{listener="admin"} 1`,
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestCapReclaimsStalled: a listener whose cap is full of connections stuck on their clients
// (answers not read, bodies trickled, or more silent clients than the cap waiting behind it) does
// not freeze: a new client is served within a bound, on the API listener and on the admin one
// (whose cap is small: anyone who reaches it could otherwise lock operators out of /metrics).
func TestCapReclaimsStalled(t *testing.T) {
	const bound = 2 * time.Second
	// unread pipelines count requests for path on each of n connections and reads no answer: the
	// server's writes stall once the socket buffers are full (a few large /ids answers; /metrics
	// answers are small, and each costs a scrape, so fewer of them keep the CPU for the probes).
	unread := func(path string, count int) func(t *testing.T, addr string, n int) {
		return func(t *testing.T, addr string, n int) {
			for _, c := range dialN(t, addr, n, "") {
				c.(*net.TCPConn).SetReadBuffer(1024)
				go func() {
					for range count {
						c.SetWriteDeadline(time.Now().Add(2 * time.Second))
						if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
							return
						}
					}
				}()
			}
		}
	}
	slowBody := func(t *testing.T, addr string, n int) {
		for _, c := range dialN(t, addr, n, "GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n") {
			go func() {
				for range 100 {
					time.Sleep(50 * time.Millisecond)
					if _, err := c.Write([]byte("b")); err != nil {
						return
					}
				}
			}()
		}
	}
	silent := func(t *testing.T, addr string, n int) { dialN(t, addr, 6*n, "") }
	for _, c := range []struct {
		name  string
		admin bool
		fill  func(t *testing.T, addr string, n int)
	}{
		{"API, answers unread", false, unread("/ids?n=100000", 500)},
		{"API, bodies a byte at a time", false, slowBody},
		{"API, six times the cap of silent clients", false, silent},
		{"admin, answers unread", true, unread("/metrics", 3)},
		{"admin, bodies a byte at a time", true, slowBody},
		{"admin, six times the cap of silent clients", true, silent},
	} {
		t.Run(c.name, func(t *testing.T) {
			const apiCap = 4
			api, admin := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{}), MaxConns: apiCap})
			addr, n := api, apiCap
			if c.admin {
				addr, n = admin, server.DefaultAdminMaxConns
			}
			c.fill(t, addr, n)
			time.Sleep(time.Second) // the pipelines are served up to where the writes stall; the bodies trickle
			for _, path := range []string{"/livez", "/metrics"} {
				took := probeWithin(t, addr, path, 200, bound)
				t.Logf("%s answered in %v", path, took.Round(time.Millisecond))
			}
		})
	}
}

// TestBodyNotRead: a request that brings a body (no path takes one) is answered at once, whatever
// the body's length or pace, and its connection closed: net/http does not wait to read the body
// first.
func TestBodyNotRead(t *testing.T) {
	api, admin := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{})})
	for _, c := range []struct{ name, head string }{
		{"small", "Content-Length: 10\r\n"},
		{"large", "Content-Length: 1000000\r\n"},
		{"chunked", "Transfer-Encoding: chunked\r\n"},
		{"expect 100-continue", "Expect: 100-continue\r\nContent-Length: 10\r\n"},
	} {
		for listener, addr := range map[string]string{"API": api, "admin": admin} {
			t.Run(listener+", "+c.name, func(t *testing.T) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				fmt.Fprintf(conn, "GET /livez HTTP/1.1\r\nHost: x\r\n%s\r\nb", c.head) // one byte of the body, then no more
				conn.SetReadDeadline(time.Now().Add(time.Second))
				start := time.Now()
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("no answer within 1s: %v", err)
				}
				io.ReadAll(resp.Body)
				if resp.StatusCode != 200 || !resp.Close {
					t.Errorf("%d, Close %v: want 200 and the connection closed", resp.StatusCode, resp.Close)
				}
				conn.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := br.ReadByte(); err == nil || isTimeout(err) {
					t.Errorf("after the answer: %v, want the connection closed", err)
				}
				t.Logf("answered in %v", time.Since(start).Round(time.Millisecond))
			})
		}
	}
}
