package main

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/faultproxy"
	"github.com/snowfall-go/snowfall/statefile"
)

// livesFor checks that base answers /livez 200 all through d.
func livesFor(t *testing.T, base string, d time.Duration) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if code, _, body := get(t, base+"/livez"); code != 200 {
			t.Fatalf("/livez: %d %q, want 200", code, body)
		}
	}
}

// notReadyYet checks what a server that has no lease yet answers, once its first attempt failed:
// /livez 200, and /readyz and GET / 503 with Retry-After, a JSON error for GET /, and reason in
// both.
func notReadyYet(t *testing.T, base, reason string) {
	t.Helper()
	if code, _, body := get(t, base+"/livez"); code != 200 {
		t.Errorf("/livez: %d %q, want 200", code, body)
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if _, _, body := get(t, base+"/readyz"); !strings.Contains(body, "first attempt") {
			break
		}
	}
	code, h, body := get(t, base+"/readyz")
	if code != 503 || h.Get("Retry-After") == "" || !strings.Contains(body, "acquiring") || !strings.Contains(body, reason) {
		t.Errorf("/readyz: %d %q Retry-After %q; want 503 saying it is acquiring and %q", code, body, h.Get("Retry-After"), reason)
	}
	code, h, body = get(t, base+"/")
	var e api.Error
	if code != 503 || h.Get("Retry-After") == "" || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Message, reason) {
		t.Errorf("GET /: %d %q Retry-After %q; want 503, a JSON error saying %q", code, body, h.Get("Retry-After"), reason)
	}
}

// randomGroup returns a group name no other test uses.
func randomGroup(prefix string) string { return prefix + strconv.FormatUint(rand.Uint64()%1e9, 10) }

// TestServeStartsWithoutStore: a server whose lease store is unreachable at start listens at once,
// answers /livez, says why it is not ready, keeps trying (logging it once), and serves once the
// store answers. With --exit-on-start-failure it exits 1 as before.
func TestServeStartsWithoutStore(t *testing.T) {
	u, err := url.Parse(postgresURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faultproxy.New(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Cut()
	u.Host = proxy.Addr()
	db := u.String()
	group := randomGroup("start")

	code, stderr, _ := runExe(t, 30*time.Second, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--db", db, "--group", group,
		"--db-timeout", "1s", "--exit-on-start-failure")
	if code != 1 {
		t.Errorf("with --exit-on-start-failure: exit %d, want 1; stderr %s", code, stderr)
	}

	cmd, base, logs := startBinary(t, nil, "--db", db, "--group", group, "--db-timeout", "1s", "--probe", "200ms")
	notReadyYet(t, base, "cannot be reached")
	livesFor(t, base, 3*time.Second)
	notReadyYet(t, base, "cannot be reached")
	proxy.Restore()
	cmdtest.WaitReady(t, base)
	if code, _, body := get(t, base+"/"); code != 200 {
		t.Errorf("GET / once the store answers: %d %q", code, body)
	}
	if n := strings.Count(logs.String(), "cannot open the lease store"); n != 1 {
		t.Errorf("%d log lines about the unreachable store, want 1:\n%s", n, logs.String())
	}
	if code := stopBinary(t, cmd, syscall.SIGTERM, logs); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
}

// TestServeStartsWithMarksAhead: when the only free generator ids have marks ahead of the clock
// (the holders' clocks were ahead, or an operator raised the marks), a server waits for its clock
// to pass them instead of exiting, then issues above them. With --exit-on-start-failure it exits 1.
func TestServeStartsWithMarksAhead(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	layout := "time=41,seq=21,gen=1" // two generator ids
	ahead := []string{"--db", db, "--layout", layout, "--probe", "200ms", "--clock-offset", "4s"}
	l, err := snowfall.ParseLayout(layout)
	if err != nil {
		t.Fatal(err)
	}
	last := map[int64]time.Time{} // the time of the last ID of each generator id
	var running []*exec.Cmd
	var logs []*cmdtest.LockedBuffer
	for range 2 {
		cmd, base, stderr := startBinary(t, nil, ahead...)
		cmdtest.WaitReady(t, base)
		_, _, body := get(t, base+"/")
		id, err := snowfall.ParseID(body)
		if err != nil {
			t.Fatalf("GET /: %q", body)
		}
		p, _ := l.Decode(id)
		last[p.Generator] = p.Time
		running, logs = append(running, cmd), append(logs, stderr)
	}
	for i, cmd := range running {
		if code := stopBinary(t, cmd, syscall.SIGTERM, logs[i]); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	args := []string{"--db", db, "--layout", layout, "--probe", "200ms"}
	code, stderr, _ := runExe(t, 30*time.Second, nil, append([]string{"serve", "--host", "127.0.0.1", "--port", "0", "--exit-on-start-failure"}, args...)...)
	if code != 1 || !strings.Contains(stderr, "ahead") {
		t.Errorf("with --exit-on-start-failure: exit %d, stderr %s; want 1 naming the mark ahead", code, stderr)
	}
	cmd, base, stderr2 := startBinary(t, nil, args...)
	notReadyYet(t, base, "ahead of this server's clock")
	cmdtest.WaitReady(t, base)
	_, _, body := get(t, base+"/")
	id, err := snowfall.ParseID(body)
	if err != nil {
		t.Fatalf("GET /: %q", body)
	}
	if p, _ := l.Decode(id); !p.Time.After(last[p.Generator]) {
		t.Errorf("first ID at %v, not above generator %d's last, at %v", p.Time, p.Generator, last[p.Generator])
	}
	if n := strings.Count(stderr2.String(), "claim failed"); n != 1 {
		t.Errorf("%d log lines about failed claims, want 1:\n%s", n, stderr2.String())
	}
	stopBinary(t, cmd, syscall.SIGTERM, stderr2)
}

// TestServeStartPermanent: what retrying cannot mend ends the process at once, with or without
// --exit-on-start-failure: a layout or epoch other than the one the store records (exit 1), a
// store inside the process (exit 2).
func TestServeStartPermanent(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	s := startServe(t, nil, "--db", db)
	cmdtest.WaitReady(t, s.URL)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"other layout", []string{"--db", db, "--layout", "twitter"}, 1, "mismatch"},
		{"other epoch", []string{"--db", db, "--epoch", "2021-01-01T00:00:00Z"}, 1, "mismatch"},
		{"store inside the process", []string{"--db", "memory"}, 2, "--generator"},
	} {
		for _, flag := range []string{"", "--exit-on-start-failure"} {
			t.Run(c.name+" "+flag, func(t *testing.T) {
				args := append([]string{"serve", "--host", "127.0.0.1", "--port", "0"}, c.args...)
				if flag != "" {
					args = append(args, flag)
				}
				code, stderr, took := runExe(t, 30*time.Second, nil, args...)
				if code != c.code || !strings.Contains(stderr, c.says) {
					t.Errorf("exit %d, stderr %s; want %d saying %q", code, stderr, c.code, c.says)
				}
				if took > 5*time.Second {
					t.Errorf("took %v to exit", took)
				}
			})
		}
	}
}

// TestServeStaticMarkAhead: with --generator and --state-file, a recorded mark ahead of the clock by
// more than the generator waits out makes the server wait (503, /livez 200), not exit, and issue
// above the mark once its clock passes it.
func TestServeStaticMarkAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	mark := time.Now().Add(3 * time.Second).Truncate(time.Millisecond)
	if err := statefile.Write(path, statefile.State{Layout: snowfall.DefaultLayout(), Node: snowfall.Node{Generator: 5}, Mark: mark}); err != nil {
		t.Fatal(err)
	}
	cmd, base, stderr := startBinary(t, nil, "--generator", "5", "--state-file", path)
	if code, _, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "clock behind") {
		t.Errorf("/readyz: %d %q, want 503 with the clock behind", code, body)
	}
	if code, _, _ := get(t, base+"/livez"); code != 200 {
		t.Errorf("/livez: %d", code)
	}
	cmdtest.WaitReady(t, base)
	_, _, body := get(t, base+"/")
	id, err := snowfall.ParseID(body)
	if err != nil {
		t.Fatalf("GET /: %q", body)
	}
	if p, _ := snowfall.DefaultLayout().Decode(id); !p.Time.After(mark) {
		t.Errorf("first ID at %v, not above the mark %v", p.Time, mark)
	}
	stopBinary(t, cmd, syscall.SIGTERM, stderr)
}
