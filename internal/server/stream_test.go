package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// TestIDsStreamed: a batch larger than one chunk comes whole and increasing, as text and as JSON.
func TestIDsStreamed(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	a := do(t, "GET", url+"/ids?n=100000")
	lines := strings.Split(strings.TrimSuffix(a.body, "\n"), "\n")
	if a.code != 200 || len(lines) != 100000 {
		t.Fatalf("text: %d, %d lines", a.code, len(lines))
	}
	checkIncreasing(t, lines, 100000)
	a = do(t, "GET", url+"/ids?n=10000", "Accept", "application/json")
	var body struct{ IDs []string }
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || len(body.IDs) != 10000 {
		t.Fatalf("json: %d, %v, %d IDs", a.code, err, len(body.IDs))
	}
	checkIncreasing(t, body.IDs, 10000)
}

// failAfter issues from g until it has filled limit IDs, then fails.
type failAfter struct {
	*snowfall.Generator
	left atomic.Int64
}

func (f *failAfter) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	if f.left.Add(-int64(len(ids))) < 0 {
		return 0, &snowfall.FenceError{Cause: errors.New("test")}
	}
	return f.Generator.Fill(ctx, ids)
}

// TestIDsCutOff: when the source stops in the middle of a long batch, the answer is cut off, so the
// client sees an error rather than a short list that looks whole.
func TestIDsCutOff(t *testing.T) {
	src := &failAfter{Generator: newGenerator(t, snowfall.Settings{})}
	src.left.Store(5000)
	url := newServer(t, src, server.Config{})
	resp, err := http.Get(url + "/ids?n=20000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("a batch cut off in the middle read without error")
	}
}

// TestAcceptAndHeaders: Accept is negotiated by quality (see TestAcceptsJSON), and every answer, 503s and
// errors included, carries nosniff and no-store.
func TestAcceptAndHeaders(t *testing.T) {
	g := newGenerator(t, snowfall.Settings{})
	url := newServer(t, g, server.Config{})
	for _, c := range []struct{ accept, ctype string }{
		{"application/json", "application/json"},
		{"application/json;q=0", "text/plain; charset=utf-8"},
		{"text/plain, application/json; q=0.5", "text/plain; charset=utf-8"},
		{"text/plain;q=0.5, application/json", "application/json"},
		{"application/jsonx", "text/plain; charset=utf-8"},
		{"*/*", "text/plain; charset=utf-8"},
	} {
		if a := do(t, "GET", url+"/ids?n=2", "Accept", c.accept); a.header.Get("Content-Type") != c.ctype {
			t.Errorf("Accept %q: Content-Type %q, want %q", c.accept, a.header.Get("Content-Type"), c.ctype)
		}
	}
	check := func(what string, a answer) {
		t.Helper()
		if a.header.Get("X-Content-Type-Options") != "nosniff" || a.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: headers %v lack nosniff or no-store", what, a.header)
		}
	}
	for _, path := range []string{"/", "/ids?n=0", "/nope", "/stats", "/decode/1", "/metrics", "/livez"} {
		check(path, do(t, "GET", url+path))
	}
	check("POST /", do(t, "POST", url+"/"))
	g.Revoke(nil)
	check("503", do(t, "GET", url+"/"))
}

// TestMaxConns: with MaxConns 1, a second connection is not served while the first is busy with
// a request; once the first is idle, the second takes its place (the first is closed).
func TestMaxConns(t *testing.T) {
	src := &slowSource{Source: newGenerator(t, snowfall.Settings{}), entered: make(chan struct{}, 1), release: make(chan struct{})}
	url, _, _ := serve(t, server.Config{Source: src, MaxConns: 1, Timeout: 10 * time.Second})
	addr := strings.TrimPrefix(url, "http://")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	fmt.Fprintf(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	<-src.entered
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/livez")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	select {
	case code := <-got:
		t.Fatalf("second connection served (%d) while the first is busy", code)
	case <-time.After(300 * time.Millisecond):
	}
	close(src.release)
	br := bufio.NewReader(first)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	io.ReadAll(resp.Body)
	select {
	case code := <-got:
		if code != 200 {
			t.Errorf("second connection: %d, want 200", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second connection not served 5s after the first went idle")
	}
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the idle first connection: read %v, want EOF (closed to admit the second)", err)
	}
}

// blockingFill is a generator whose Fill waits until release is closed.
type blockingFill struct {
	*snowfall.Generator
	entered chan struct{}
	release chan struct{}
}

func (b *blockingFill) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.Generator.Fill(ctx, ids)
}

// TestBatchWorkCap: while every batch slot is taken, another /ids waits within the timeout and gets
// 503, and GET / is still served.
func TestBatchWorkCap(t *testing.T) {
	src := &blockingFill{Generator: newGenerator(t, snowfall.Settings{}), entered: make(chan struct{}, 4), release: make(chan struct{})}
	url := newServer(t, src, server.Config{MaxBatchWork: 1, Timeout: 200 * time.Millisecond})
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(url + "/ids?n=10")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-src.entered
	start := time.Now()
	if a := do(t, "GET", url+"/ids?n=10"); a.code != 503 || !strings.Contains(a.body, "busy") {
		t.Errorf("second batch while the slot is taken: %d %q, want 503 busy", a.code, a.body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusal took %v", d)
	}
	if a := do(t, "GET", url+"/"); a.code != 200 {
		t.Errorf("GET / while batches are busy: %d %q", a.code, a.body)
	}
	close(src.release)
	if code := <-first; code != 200 {
		t.Errorf("first batch: %d, want 200", code)
	}
}
