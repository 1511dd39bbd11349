package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// slowLayout issues at most 16 IDs a millisecond (4 sequence bits), so that a batch of 48,000 takes
// 3 s or more to fill whatever the buffers: a request that is surely in flight for that long.
const slowLayout = "time=45,seq=4,gen=14"

// batchInFlight asks base for n IDs in the background; wait returns how many IDs came and when the
// answer ended.
func batchInFlight(base string, n int) (wait func() (int, time.Time, error)) {
	type result struct {
		n   int
		end time.Time
		err error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/ids?n=" + strconv.Itoa(n))
		if err != nil {
			done <- result{0, time.Now(), err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			err = fmt.Errorf("%s: %s", resp.Status, b)
		}
		done <- result{strings.Count(string(b), "\n"), time.Now(), err}
	}()
	return func() (int, time.Time, error) {
		r := <-done
		return r.n, r.end, r.err
	}
}

// closedErr reports whether err says that the server no longer accepts connections: refused, or
// reset or closed without an answer (EOF) when the connection was still in the listen queue as the
// listener closed.
func closedErr(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "connection reset") ||
		errors.Is(err, io.EOF))
}

// quickGet GETs url on a new connection; it returns the status code, or 0 and the error.
func quickGet(url string) (int, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestServeDrain runs snowfall serve --drain-delay 2s with a lease and a batch in flight, sends
// SIGTERM, and checks the timeline: /readyz (on both listeners) answers 503 at once while GET /
// is still served; the listener refuses connections once the delay is over; the batch in flight
// completes; the lease is released and the exit code is 0.
func TestServeDrain(t *testing.T) {
	const delay = 2 * time.Second
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	adminAddr := freeAddr(t)
	cmd, base, logs := startBinary(t, nil, "--db", db, "--layout", slowLayout, "--drain-delay", delay.String(), "--admin-addr", adminAddr)
	admin := "http://" + adminAddr
	cmdtest.WaitReady(t, base)
	cmdtest.WaitReady(t, admin)
	const n = 48000 // 3 s at 16 IDs per ms: it ends a second after the listener closes
	readBatch := batchInFlight(base, n)
	time.Sleep(100 * time.Millisecond) // sent

	sigterm := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var unready, refused time.Duration
	served, failed := 0, 0
	for time.Since(sigterm) < delay+5*time.Second && refused == 0 {
		code, err := quickGet(base + "/readyz")
		now := time.Since(sigterm)
		switch {
		case closedErr(err):
			refused = now
			continue
		case err != nil:
			t.Fatalf("/readyz at %v: %v", now, err)
		case code == 503 && unready == 0:
			unready = now
		case code == 200 && unready != 0:
			t.Errorf("/readyz 200 at %v, after 503 at %v", now, unready)
		}
		if code, err := quickGet(admin + "/readyz"); unready != 0 && code != 503 {
			t.Errorf("admin /readyz at %v: %d %v, want 503", time.Since(sigterm), code, err)
		}
		switch code, err := quickGet(base + "/"); {
		case code == 200:
			served++
		case closedErr(err):
		default:
			failed++
			t.Errorf("GET / at %v while draining: %d %v", time.Since(sigterm), code, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, err := quickGet(admin + "/livez"); code != 200 {
		t.Errorf("admin /livez while the batch is in flight: %d %v", code, err)
	}
	got, end, err := readBatch()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15s after SIGTERM; stderr %s", logs.String())
	}
	exit := time.Since(sigterm)
	t.Logf("SIGTERM at 0: /readyz 503 from %v, GET / served %d times while draining, connections refused from %v, batch of %d IDs complete at %v, exit %d at %v",
		unready.Round(time.Millisecond), served, refused.Round(time.Millisecond), got, end.Sub(sigterm).Round(time.Millisecond),
		cmd.ProcessState.ExitCode(), exit.Round(time.Millisecond))
	if end.Sub(sigterm) < refused {
		t.Errorf("the batch ended at %v, before the listener closed at %v: it tested nothing in flight", end.Sub(sigterm), refused)
	}
	switch {
	case unready == 0 || unready > 500*time.Millisecond:
		t.Errorf("/readyz turned 503 at %v, want within 500ms of SIGTERM", unready)
	case refused < delay-100*time.Millisecond || refused > delay+2*time.Second:
		t.Errorf("connections refused from %v, want about %v after SIGTERM", refused, delay)
	case served < 10:
		t.Errorf("GET / served %d times during the delay", served)
	}
	if got != n || err != nil {
		t.Errorf("the batch in flight: %d IDs (%v), want %d", got, err, n)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit %d, want 0; stderr %s", code, logs.String())
	}
	if !strings.Contains(logs.String(), "lease released") {
		t.Errorf("the log does not say the lease was released: %s", logs.String())
	}
}

// TestServeDrainSecondSignal: a second SIGTERM ends a long drain delay at once.
func TestServeDrainSecondSignal(t *testing.T) {
	cmd, base, logs := startBinary(t, nil, "--generator", "3", "--drain-delay", "1m")
	cmd.Process.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if code, _ := quickGet(base + "/readyz"); code == 503 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("/readyz not 503 5s after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, err := quickGet(base + "/"); code != 200 {
		t.Errorf("GET / during the delay: %d %v", code, err)
	}
	second := time.Now()
	if code := stopBinary(t, cmd, syscall.SIGTERM, logs); code != 0 {
		t.Errorf("exit %d, want 0; stderr %s", code, logs.String())
	}
	if d := time.Since(second); d > 3*time.Second {
		t.Errorf("exit %v after the second SIGTERM, want at once", d)
	}
	if _, err := quickGet(base + "/"); err == nil {
		t.Error("still answering after exit")
	}
	t.Logf("exit %v after the second SIGTERM", time.Since(second).Round(time.Millisecond))
}

// TestServeAdminFlag: --admin-addr serves the operators' endpoints and not the IDs; a bad value is
// a usage error naming the flag.
func TestServeAdminFlag(t *testing.T) {
	addr := freeAddr(t)
	s := startServe(t, nil, "--generator", "1", "--admin-addr", addr)
	for path, want := range map[string]int{"/livez": 200, "/readyz": 200, "/healthz": 200, "/metrics": 200, "/stats": 200, "/": 404, "/ids?n=1": 404} {
		if code, err := quickGet("http://" + addr + path); code != want {
			t.Errorf("admin %s: %d %v, want %d", path, code, err, want)
		}
	}
	if code, _ := quickGet(s.URL + "/"); code != 200 {
		t.Errorf("GET / on the API: %d", code)
	}
	for _, bad := range []string{"9090", "host:port", "127.0.0.1:65536", "127.0.0.1:-1"} {
		code, _, errs := runCmd(t, "", nil, "serve", "--generator", "1", "--admin-addr", bad)
		if code != 2 || !strings.Contains(errs, "--admin-addr") {
			t.Errorf("--admin-addr %q: exit %d, stderr %q; want 2 naming the flag", bad, code, errs)
		}
	}
	code, _, errs := runCmd(t, "", map[string]string{"SNOWFALL_DRAIN_DELAY": "11m"}, "serve", "--generator", "1")
	if code != 2 || !strings.Contains(errs, "SNOWFALL_DRAIN_DELAY") {
		t.Errorf("SNOWFALL_DRAIN_DELAY=11m: exit %d, stderr %q; want 2 naming the variable", code, errs)
	}
}
