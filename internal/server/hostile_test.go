package server_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// hostileKinds are what a hostile connection does: each holds its connection without letting the
// server finish work on it.
var hostileKinds = []struct {
	name string
	run  func(c net.Conn, rng *rand.Rand, stop <-chan struct{})
}{
	{"idle keep-alive", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		fmt.Fprint(c, idleRequest)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
			resp.Body.Close()
		}
		<-stop
	}},
	{"silent", func(_ net.Conn, _ *rand.Rand, stop <-chan struct{}) { <-stop }},
	{"half a header", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		fmt.Fprint(c, "GET /livez HTTP/1.1\r\nHo")
		<-stop
	}},
	{"header a byte at a time", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		trickle(c, "GET /livez HTTP/1.1\r\nHost: x\r\nX-Pad: "+strings.Repeat("a", 1000)+"\r\n\r\n", stop)
	}},
	{"body a byte at a time", func(c net.Conn, rng *rand.Rand, stop <-chan struct{}) {
		n := []int{10, 4096, 1 << 20}[rng.IntN(3)] // under and over net/http's 256 KiB discard limit
		fmt.Fprintf(c, "GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", n)
		trickle(c, strings.Repeat("b", n), stop)
	}},
	{"chunked body a byte at a time", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		fmt.Fprint(c, "GET /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		trickle(c, strings.Repeat("1\r\nb\r\n", 1000), stop)
	}},
	{"expect 100-continue, no body", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		fmt.Fprint(c, "GET /livez HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100\r\n\r\n")
		<-stop
	}},
	{"pipelined requests, answers unread", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(1024)
		}
		req := "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /ids?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n"
		for range 200 {
			select {
			case <-stop:
				return
			default:
			}
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := fmt.Fprint(c, req); err != nil && !isTimeout(err) {
				break
			}
		}
		<-stop
	}},
	{"pipelined batches, answers read", func(c net.Conn, _ *rand.Rand, stop <-chan struct{}) {
		pipelineBatches(c, 5*time.Millisecond, stop)
		<-stop
	}},
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// trickle writes s a byte every 20 ms until it is written, the connection fails or stop is closed.
func trickle(c net.Conn, s string, stop <-chan struct{}) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := range len(s) {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if _, err := c.Write([]byte{s[i]}); err != nil {
			break
		}
	}
	<-stop
}

// hostileSeeds are the mixed cases TestProbesUnderHostileConnections runs; it also runs one case
// of each kind alone, seed onlySeed+i for hostileKinds[i]. SNOWFALL_HOSTILE_SEED replays one.
var hostileSeeds = []uint64{1, 2, 3, 4, 5, 6}

// onlySeed is the first seed of the cases with one kind of connection only.
const onlySeed = 100

// kindsOf returns the kinds of connections the case of seed draws from: all of them, or for
// onlySeed+i, hostileKinds[i] alone (a mix leaves connections that can be reclaimed, which can
// hide a kind that cannot).
func kindsOf(seed uint64) []int {
	if i := seed - onlySeed; seed >= onlySeed && i < uint64(len(hostileKinds)) {
		return []int{int(i)}
	}
	all := make([]int, len(hostileKinds))
	for i := range all {
		all[i] = i
	}
	return all
}

// TestProbesUnderHostileConnections is a seeded search for a mix of connections that keeps the
// health probes from answering: each case (a mix of kinds, or one kind alone) opens, on the API
// listener (a cap drawn from 4 to 24) and on the admin listener (its default cap), from half the
// cap to twice the cap plus 8 connections that are idle, silent, half-sent, trickling headers or
// bodies, pipelining requests whose answers they never read, or pipelining batches (read) that
// wait for the batch slots, and in some cases a flood of silent ones arriving all the while
// (hundreds, beyond any cap); then /livez and /readyz must answer on both listeners, each within
// probeBound, several times over.
func TestProbesUnderHostileConnections(t *testing.T) {
	const probeBound = 2 * time.Second
	seeds := hostileSeeds
	if s := os.Getenv("SNOWFALL_HOSTILE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SNOWFALL_HOSTILE_SEED=%q: %v", s, err)
		}
		seeds = []uint64{v}
	} else {
		for i := range hostileKinds {
			seeds = append(seeds[:len(seeds):len(seeds)], onlySeed+uint64(i))
		}
	}
	var worst time.Duration
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 0x5eed))
			apiCap := 4 + rng.IntN(21)
			api, admin := serveAdmin(t, server.Config{Source: newGenerator(t, snowfall.Settings{}), MaxConns: apiCap})
			stop := make(chan struct{})
			var wg sync.WaitGroup
			t.Cleanup(func() { close(stop); wg.Wait() })
			mix := map[string]int{}
			kinds := kindsOf(seed)
			open := func(addr string, cap int) {
				n := cap/2 + rng.IntN(2*cap+8-cap/2+1)
				for range n {
					k := hostileKinds[kinds[rng.IntN(len(kinds))]]
					mix[k.name]++
					c, err := net.Dial("tcp", addr)
					if err != nil {
						t.Fatal(err)
					}
					crng := rand.New(rand.NewPCG(rng.Uint64(), 0))
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer c.Close()
						k.run(c, crng, stop)
					}()
				}
			}
			// A flood: more silent connections arriving all the while, beyond any cap.
			flood := func(addr string) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var conns []net.Conn
					defer func() {
						for _, c := range conns {
							c.Close()
						}
					}()
					tick := time.NewTicker(3 * time.Millisecond)
					defer tick.Stop()
					for range 400 {
						select {
						case <-stop:
							return
						case <-tick.C:
						}
						if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
							conns = append(conns, c)
						}
					}
					<-stop
				}()
			}
			open(api, apiCap)
			open(admin, server.DefaultAdminMaxConns)
			flooded := rng.IntN(2) == 0
			if flooded {
				flood(api)
				flood(admin)
			}
			t.Logf("API cap %d; mix %v; flood of silent connections: %v", apiCap, mix, flooded)
			time.Sleep(300 * time.Millisecond) // let the hostile connections settle in
			var slowest time.Duration
			for i := range 3 {
				for _, addr := range []string{api, admin} {
					for _, path := range []string{"/livez", "/readyz"} {
						took := probeWithin(t, addr, path, 200, probeBound)
						slowest = max(slowest, took)
						if t.Failed() {
							t.Fatalf("round %d: %s%s: replay with SNOWFALL_HOSTILE_SEED=%d", i, addr, path, seed)
						}
					}
				}
				time.Sleep(100 * time.Millisecond)
			}
			t.Logf("slowest probe: %v", slowest.Round(time.Millisecond))
			worst = max(worst, slowest)
		})
	}
	t.Logf("slowest probe over all seeds: %v", worst.Round(time.Millisecond))
}
