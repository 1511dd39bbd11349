package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// pipelineBatches writes GET /ids?n=100000 on c four at a time, every pace, and reads the answers,
// until stop is closed or the connection fails: its requests queue for the batch slots all the
// while.
func pipelineBatches(c net.Conn, pace time.Duration, stop <-chan struct{}) {
	go io.Copy(io.Discard, c)
	w := bufio.NewWriter(c)
	for {
		select {
		case <-stop:
			return
		default:
		}
		for range 4 {
			w.WriteString("GET /ids?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if err := w.Flush(); err != nil && !isTimeout(err) {
			return
		}
		time.Sleep(pace)
	}
}

// TestProbesUnderPipelinedBatches is the red team's repro: as many connections as the API's cap
// pipeline /ids?n=100000 and read the answers, so that their requests wait for the two batch slots
// (a wait of up to Timeout). A /livez and a /readyz on a new connection must still answer, each
// within a second, for the whole attack. Before waiting requests could be reclaimed, every probe
// waited for the cap's whole attack (6 s timeouts at a cap of 4).
func TestProbesUnderPipelinedBatches(t *testing.T) {
	const bound = time.Second
	for _, c := range []struct {
		cap  int
		pace time.Duration
	}{{4, 5 * time.Millisecond}, {32, 300 * time.Millisecond}} {
		t.Run(fmt.Sprintf("cap %d", c.cap), func(t *testing.T) {
			api, _ := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{}), MaxConns: c.cap, MaxBatchWork: 2})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			t.Cleanup(func() { close(stop); wg.Wait() })
			for range c.cap {
				conn, err := net.Dial("tcp", api)
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer conn.Close()
					pipelineBatches(conn, c.pace, stop)
				}()
			}
			time.Sleep(300 * time.Millisecond) // let the requests queue up
			var worst time.Duration
			for end := time.Now().Add(2 * time.Second); time.Now().Before(end) && !t.Failed(); {
				for _, path := range []string{"/livez", "/readyz"} {
					worst = max(worst, probeWithin(t, api, path, 200, bound))
				}
				time.Sleep(50 * time.Millisecond)
			}
			t.Logf("slowest probe: %v", worst.Round(time.Millisecond))
		})
	}
}

// TestWaitingRequestGivesWay: at a full cap, a request waiting for the batch slot gives its place
// to a new client at once: it gets 503 with Retry-After and its connection is closed, while the
// request at work in the slot finishes with its IDs.
func TestWaitingRequestGivesWay(t *testing.T) {
	src := &blockingFill{Generator: newGenerator(t, snowfall.Settings{}), entered: make(chan struct{}, 4), release: make(chan struct{})}
	api, _ := serveAdmin(t, server.Config{Source: src, MaxConns: 2, MaxBatchWork: 1, Timeout: time.Minute})
	conns := dialN(t, api, 2, "")
	const req = "GET /ids?n=10 HTTP/1.1\r\nHost: x\r\n\r\n"
	fmt.Fprint(conns[0], req)
	<-src.entered // at work, in the slot
	fmt.Fprint(conns[1], req)
	time.Sleep(100 * time.Millisecond) // waiting for the slot
	took := probeWithin(t, api, "/livez", 200, time.Second)
	t.Logf("/livez answered in %v", took.Round(time.Millisecond))

	conns[1].SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conns[1])
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the waiting request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !resp.Close {
		t.Errorf("the waiting request: %d, Retry-After %q, close %v (%q); want 503, 1, true", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close, body)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("the waiting request's connection after its answer: %v, want EOF", err)
	}

	close(src.release)
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err = http.ReadResponse(bufio.NewReader(conns[0]), nil)
	if err != nil {
		t.Fatalf("the request at work: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(strings.Fields(string(body))) != 10 {
		t.Errorf("the request at work: %d %q, want 200 with 10 IDs", resp.StatusCode, body)
	}
}

// waitingSource waits in NextContext, as a generator does for a clock that went back, until its
// context is done.
type waitingSource struct{ snowfall.Source }

func (waitingSource) NextContext(ctx context.Context) (snowfall.ID, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestSourceWaitGivesWay: at a full cap (1), a GET / whose source waits (a clock that went back)
// gives its place to a new client at once: 503 with Retry-After, connection closed.
func TestSourceWaitGivesWay(t *testing.T) {
	api, _ := serveAdmin(t, server.Config{Source: waitingSource{newGenerator(t, snowfall.Settings{})}, MaxConns: 1, Timeout: time.Minute})
	c := dialN(t, api, 1, "")[0]
	fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond) // waiting in the source
	took := probeWithin(t, api, "/readyz", 200, time.Second)
	t.Logf("/readyz answered in %v", took.Round(time.Millisecond))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the waiting request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !resp.Close {
		t.Errorf("the waiting request: %d, Retry-After %q, close %v; want 503, 1, true", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
}
