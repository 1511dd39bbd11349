package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/server"
)

// rawExchange sends req on a new connection to addr, half-closes it and returns the first answer,
// its body read whole, or ok false when the server answered nothing.
func rawExchange(t *testing.T, addr, req string) (resp *http.Response, body []byte, ok bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte(req)) // the server may hang up before reading it all
	c.(*net.TCPConn).CloseWrite()
	method := "GET"
	if strings.HasPrefix(req, "HEAD ") {
		method = "HEAD"
	}
	resp, err = http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		return nil, nil, false
	}
	body, _ = io.ReadAll(resp.Body)
	return resp, body, true
}

// checkAnswer checks what every answer must carry: nosniff and no-store, and for an error a JSON
// api.Error with a message.
func checkAnswer(t *testing.T, req string, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode < 200 {
		return
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("%.80q: %s lacks nosniff or no-store: %v", req, resp.Status, resp.Header)
	}
	if resp.StatusCode < 400 {
		return
	}
	var e api.Error
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%.80q: %s has Content-Type %q, want application/json", req, resp.Status, ct)
	} else if resp.Request.Method == "HEAD" && len(body) == 0 {
		// an answer to HEAD has no body
	} else if err := json.Unmarshal(body, &e); err != nil || e.Message == "" {
		t.Errorf("%.80q: %s body %q is not an api.Error: %v", req, resp.Status, body, err)
	}
}

// TestRawAnswers sends requests that net/http itself answers, or answers before any handler runs,
// on raw connections: every answer, theirs included, carries the security headers, and every
// error is a JSON api.Error.
func TestRawAnswers(t *testing.T) {
	url, _, _ := serve(t, server.Config{Source: newGenerator(t, snowfall.Settings{})})
	addr := strings.TrimPrefix(url, "http://")
	for _, c := range []struct {
		name, req string
		code      int
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", 400},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"bad header name", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", 400},
		{"two lengths", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"headers too large", "GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", 431},
		{"unknown transfer coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"HTTP/3.0", "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505},
		{"unknown expectation", "GET / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n", 417},
		{"OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 200},
		{"GET *", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 405},
		{"HTTP/1.0", "GET /nope HTTP/1.0\r\n\r\n", 404},
		{"ID", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body, ok := rawExchange(t, addr, c.req)
			if !ok {
				t.Fatalf("no answer")
			}
			if resp.StatusCode != c.code {
				t.Errorf("%s, want %d", resp.Status, c.code)
			}
			checkAnswer(t, c.req, resp, body)
			if c.name == "OPTIONS *" && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("OPTIONS *: Allow %q, want GET, HEAD", resp.Header.Get("Allow"))
			}
		})
	}
}

// TestRawAnswersGenerated sends requests made by mutating valid ones (bytes replaced, inserted,
// deleted; methods, versions, headers and targets swapped), seeded and replayable with
// SNOWFALL_RAW_SEED, and checks every answer as TestRawAnswers does.
func TestRawAnswersGenerated(t *testing.T) {
	url, _, _ := serve(t, server.Config{Source: newGenerator(t, snowfall.Settings{})})
	addr := strings.TrimPrefix(url, "http://")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SNOWFALL_RAW_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay with SNOWFALL_RAW_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	methods := []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE", "PATCH", "BREW", "get", ""}
	targets := []string{"/", "/ids?n=3", "/stats", "/decode/1", "/livez", "/readyz", "/metrics", "*", "example.com:443",
		"http://x/", "/%zz", "//ids", "/ids/../stats", "/nope", "", "/ids?n=0"}
	versions := []string{"HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.10", "http/1.1", "HTTP/1", ""}
	headers := []string{"Host: x", "Host: x\r\nHost: y", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip",
		"Content-Length: 3", "Content-Length: -1", "Content-Length: 1\r\nContent-Length: 2", "Expect: 100-continue",
		"Expect: x", "Accept: application/json", "X: " + strings.Repeat("b", 20<<10), "Bad Name: v", "Connection: close", ""}
	cases := 300
	if testing.Short() {
		cases = 60
	}
	answered := 0
	for i := range cases {
		var b bytes.Buffer
		b.WriteString(methods[rng.IntN(len(methods))] + " " + targets[rng.IntN(len(targets))] + " " + versions[rng.IntN(len(versions))] + "\r\n")
		for range rng.IntN(4) {
			if h := headers[rng.IntN(len(headers))]; h != "" {
				b.WriteString(h + "\r\n")
			}
		}
		b.WriteString("\r\nabc")
		req := b.Bytes()
		for range rng.IntN(3) { // byte mutations
			if len(req) == 0 {
				break
			}
			p := rng.IntN(len(req))
			switch rng.IntN(3) {
			case 0:
				req[p] = byte(rng.IntN(256))
			case 1:
				req = append(req[:p], append([]byte{byte(rng.IntN(256))}, req[p:]...)...)
			case 2:
				req = append(req[:p], req[p+1:]...)
			}
		}
		resp, body, ok := rawExchange(t, addr, string(req))
		if !ok {
			continue
		}
		answered++
		checkAnswer(t, string(req), resp, body)
		if t.Failed() {
			t.Fatalf("case %d of seed %d failed", i, seed)
		}
	}
	t.Logf("%d requests, %d answered", cases, answered)
	if answered < cases/2 {
		t.Errorf("only %d of %d requests were answered", answered, cases)
	}
}
