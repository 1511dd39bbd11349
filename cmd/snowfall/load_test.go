package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// rssKB returns the resident set size of process pid, from /proc.
func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestLoadSlowReaders runs 150 clients that ask for /ids?n=100000 and read the answer at about
// 20 KB/s, next to 8 normal clients (GET / and GET /ids?n=100), against the built server on
// loopback for a bounded time. Normal clients must keep being served (success rate, p99), and the
// server's resident memory must stay bounded. The figures are logged (go test -v).
func TestLoadSlowReaders(t *testing.T) {
	const (
		slow     = 150
		normal   = 8
		duration = 5 * time.Second
	)
	cmd, url, stderr := startBinary(t, nil, "--generator", "9")
	pid := cmd.Process.Pid
	addr := strings.TrimPrefix(url, "http://")
	rssStart := rssKB(t, pid)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var slowStarted, slowBytes atomic.Int64
	for range slow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			c.(*net.TCPConn).SetReadBuffer(4096)
			fmt.Fprintf(c, "GET /ids?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
			slowStarted.Add(1)
			buf := make([]byte, 1024)
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				c.SetReadDeadline(time.Now().Add(time.Second))
				n, err := io.ReadFull(c, buf)
				slowBytes.Add(int64(n))
				if err != nil && !os.IsTimeout(err) {
					return
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // let the slow readers settle in

	var mu sync.Mutex
	var lat []time.Duration
	var ok, failed int
	hc := &http.Client{Timeout: 5 * time.Second}
	end := time.Now().Add(duration)
	var nwg sync.WaitGroup
	for i := range normal {
		nwg.Add(1)
		go func() {
			defer nwg.Done()
			path := "/"
			if i%2 == 1 {
				path = "/ids?n=100"
			}
			for time.Now().Before(end) {
				start := time.Now()
				resp, err := hc.Get(url + path)
				good := false
				if err == nil {
					body, rerr := io.ReadAll(resp.Body)
					resp.Body.Close()
					good = rerr == nil && resp.StatusCode == 200 && len(body) > 0
				}
				d := time.Since(start)
				mu.Lock()
				lat = append(lat, d)
				if good {
					ok++
				} else {
					failed++
				}
				mu.Unlock()
			}
		}()
	}
	peak := 0
	for time.Now().Before(end) {
		peak = max(peak, rssKB(t, pid))
		time.Sleep(100 * time.Millisecond)
	}
	nwg.Wait()
	peak = max(peak, rssKB(t, pid))
	close(stop)
	wg.Wait()

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	total := ok + failed
	if total == 0 {
		t.Fatalf("no normal request finished; stderr %s", stderr.String())
	}
	p50, p99 := lat[total/2], lat[total*99/100]
	rate := float64(ok) / float64(total)
	t.Logf("load: %d slow readers (%d connected, %d KB read), %d normal clients for %v: %d requests, success %.4f, p50 %v, p99 %v; RSS %d KB at start, %d KB peak",
		slow, slowStarted.Load(), slowBytes.Load()/1024, normal, duration, total, rate, p50.Round(time.Microsecond), p99.Round(time.Microsecond), rssStart, peak)
	if rate < 0.99 {
		t.Errorf("normal clients' success rate %.4f, want at least 0.99", rate)
	}
	if p99 > time.Second {
		t.Errorf("normal clients' p99 %v, want under 1s", p99)
	}
	if grew := peak - rssStart; grew > 48*1024 {
		t.Errorf("resident memory grew by %d KB under the load, want under 48 MB", grew)
	}
	if code := stopBinary(t, cmd, syscall.SIGTERM, stderr); code != 0 {
		t.Errorf("exit %d after SIGTERM; stderr %s", code, stderr.String())
	}
}
