package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// startServe runs snowfall serve in-process on a random loopback port; it is stopped when the test
// ends if the test did not stop it.
func startServe(t *testing.T, env map[string]string, args ...string) *cmdtest.Server {
	t.Helper()
	return cmdtest.MustStart(t, run, env, append([]string{"serve", "--host", "127.0.0.1", "--port", "0"}, args...)...)
}

// startLeased is startServe for a leased server, once it holds its lease: it listens before.
func startLeased(t *testing.T, env map[string]string, args ...string) *cmdtest.Server {
	t.Helper()
	s := startServe(t, env, args...)
	cmdtest.WaitReady(t, s.URL)
	return s
}

func getStats(t *testing.T, url string) api.Stats {
	t.Helper()
	code, body := cmdtest.Get(t, url+"/stats")
	var st api.Stats
	if err := json.Unmarshal([]byte(body), &st); code != 200 || err != nil {
		t.Fatalf("stats: %d %q %v", code, body, err)
	}
	return st
}

// TestServeNode checks the node values and layout served: flag beats env beats default.
func TestServeNode(t *testing.T) {
	pysnow, _ := snowfall.Preset(snowfall.PresetPysnowflake)
	for _, c := range []struct {
		name   string
		env    map[string]string
		args   []string
		layout snowfall.Layout
		node   snowfall.Node
	}{
		{"generator flag", nil, []string{"--generator", "42"}, snowfall.DefaultLayout(), snowfall.Node{Generator: 42}},
		{"generator env", map[string]string{"SNOWFALL_GENERATOR": "5"}, nil, snowfall.DefaultLayout(), snowfall.Node{Generator: 5}},
		{"flag beats env", map[string]string{"SNOWFALL_GENERATOR": "5"}, []string{"--generator", "6"}, snowfall.DefaultLayout(), snowfall.Node{Generator: 6}},
		{"dc and worker", map[string]string{"SNOWFALL_LAYOUT": "pysnowflake", "SNOWFALL_DC": "3"}, []string{"--worker", "9"}, pysnow, snowfall.Node{DC: 3, Worker: 9}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, c.env, c.args...)
			code, body := cmdtest.Get(t, s.URL+"/")
			id, err := snowfall.ParseID(body)
			if code != 200 || err != nil {
				t.Fatalf("GET /: %d %q %v", code, body, err)
			}
			p, _ := c.layout.Decode(id)
			if p.Node() != c.node {
				t.Errorf("ID %d has node %+v, want %+v", id, p.Node(), c.node)
			}
			st := getStats(t, s.URL)
			if st.Layout != c.layout.Name() || st.DC != c.node.DC || st.Worker != c.node.Worker || st.Lease != nil {
				t.Errorf("stats %+v, want layout %s node %+v and no lease", st, c.layout.Name(), c.node)
			}
		})
	}
}

// TestServeSQLiteLease serves from a lease in a SQLite file.
func TestServeSQLiteLease(t *testing.T) {
	s := startLeased(t, nil, "--db", "sqlite://"+filepath.Join(t.TempDir(), "leases.db"), "--probe", "100ms")
	if code, body := cmdtest.Get(t, s.URL+"/"); code != 200 {
		t.Fatalf("GET /: %d %q", code, body)
	}
	st := getStats(t, s.URL)
	if st.Lease == nil || st.Lease.State != "held" || st.Generator == nil || st.Lease.ID != *st.Generator {
		t.Fatalf("stats %+v, want a held lease on the generator served", st)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Stderr.String(), "lease released") {
		t.Errorf("the log does not say the lease was released: %s", s.Stderr.String())
	}
}

func TestServeUsageErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"port", nil, []string{"--port", "70000"}, "--port 70000 out of range [0, 65535]"},
		{"port env", map[string]string{"SNOWFALL_PORT": "http"}, nil, "SNOWFALL_PORT"},
		{"generator range", nil, []string{"--generator", "2048"}, "generator 2048 out of range [0, 2047]"},
		{"generator env range", map[string]string{"SNOWFALL_GENERATOR": "-1"}, nil, "SNOWFALL_GENERATOR -1 out of range [0, 2047]"},
		{"worker range", nil, []string{"--layout", "pysnowflake", "--worker", "256"}, "worker 256 out of range [0, 255]"},
		{"db with generator", nil, []string{"--db", "memory", "--generator", "1"}, "excludes --generator"},
		{"group without db", nil, []string{"--generator", "1", "--group", "a"}, "need --db"},
		{"log format", nil, []string{"--log-format", "xml"}, "xml"},
		{"bad probe", map[string]string{"SNOWFALL_PROBE": "often"}, []string{"--db", "memory"}, "SNOWFALL_PROBE"},
		{"stray argument", nil, []string{"now"}, "unexpected argument after the flags (it is not shown"},
		{"db scheme", nil, []string{"--db", "oracle://db.example"}, "--db: not a valid database URL (value hidden): its scheme is not"},
		{"db without host", map[string]string{"SNOWFALL_DB": "postgres:///test"}, nil, "has no host"},
		{"db group", nil, []string{"--db", "sqlite:///tmp/x.db", "--group", "Bad-Name"}, `group "Bad-Name"`},
		{"db password hidden", nil, []string{"--db", "mysql://u:secret@/test"}, "--db: not a valid database URL (value hidden): it has no host"},
		{"db from the environment", map[string]string{"SNOWFALL_DB": "postgres://u:se/cret@h/db"}, nil, "SNOWFALL_DB: not a valid database URL (value hidden): it holds an '@' after the host"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A case that wrongly starts a server stops after a second and fails.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			var out, stderr bytes.Buffer
			sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &stderr, Getenv: func(k string) string { return c.env[k] }}
			code := report(run(ctx, append([]string{"serve", "--host", "127.0.0.1"}, c.args...), sio), sio)
			errs := stderr.String()
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, errs)
			}
			if !strings.Contains(errs, c.want) {
				t.Errorf("stderr %q does not mention %q", errs, c.want)
			}
		})
	}
}

// bin is snowfall, built for the tests that need a process of its own.
var bin = cmdtest.Binary{Name: "snowfall"}

func TestMain(m *testing.M) {
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// startBinary runs the built snowfall serve on a random port.
func startBinary(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *cmdtest.LockedBuffer) {
	t.Helper()
	return bin.StartBinary(t, env, append([]string{"serve", "--host", "127.0.0.1", "--port", "0"}, args...)...)
}

// stopBinary sends sig and waits for the exit code.
func stopBinary(t *testing.T, cmd *exec.Cmd, sig syscall.Signal, stderr *cmdtest.LockedBuffer) int {
	t.Helper()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit within 15s of %v; stderr %s", sig, stderr.String())
	}
	return cmd.ProcessState.ExitCode()
}

// TestServeBinary checks the exit codes of the built command: 2 for usage errors, 0 after SIGTERM
// or SIGINT once it served.
func TestServeBinary(t *testing.T) {
	exe := bin.Path(t)
	t.Run("usage", func(t *testing.T) {
		cmd := exec.Command(exe, "serve", "--generator", "99999")
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(string(out), "[0, 2047]") {
			t.Errorf("exit %d, output %q; want 2 naming the range", code, out)
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, url, stderr := startBinary(t, []string{"SNOWFALL_GENERATOR=12"}, "--log-format", "json")
			if code, body := cmdtest.Get(t, url+"/"); code != 200 {
				t.Fatalf("GET /: %d %q", code, body)
			}
			if code := stopBinary(t, cmd, sig, stderr); code != 0 {
				t.Fatalf("exit %d, want 0; stderr %s", code, stderr.String())
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Errorf("log line %q is not JSON", line)
				}
			}
		})
	}
}

// TestServeLifetimeWarning checks the start-up warning for a layout with less than a year left.
func TestServeLifetimeWarning(t *testing.T) {
	// 30 bits of milliseconds last about 12.4 days; an epoch 10 days ago leaves about 2.4.
	epoch := time.Now().Add(-10 * 24 * time.Hour).UTC().Format(time.RFC3339)
	s := startServe(t, nil, "--layout", "time=30,seq=22,gen=11", "--epoch", epoch, "--generator", "1")
	if !strings.Contains(s.Stderr.String(), "less than a year") {
		t.Errorf("no lifetime warning in the log: %s", s.Stderr.String())
	}
	s2 := startServe(t, nil, "--generator", "1")
	if strings.Contains(s2.Stderr.String(), "less than a year") {
		t.Errorf("lifetime warning for the default layout: %s", s2.Stderr.String())
	}
}

// TestServeReleasesSQLLease stops a server holding a lease from a SQLite file with SIGTERM and
// checks that a second server acquires the same generator id at once, long before the lease (10 s
// by default) could have expired.
func TestServeReleasesSQLLease(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	cmd, url, stderr := startBinary(t, nil, "--db", db, "--group", "releasetest")
	cmdtest.WaitReady(t, url)
	first := getStats(t, url)
	if first.Lease == nil || first.Lease.State != "held" {
		t.Fatalf("first server: stats %+v, want a held lease", first)
	}
	if code := stopBinary(t, cmd, syscall.SIGTERM, stderr); code != 0 {
		t.Fatalf("exit %d, want 0; stderr %s", code, stderr.String())
	}
	start := time.Now()
	s := startLeased(t, nil, "--db", db, "--group", "releasetest")
	second := getStats(t, s.URL)
	if second.Lease == nil || second.Lease.ID != first.Lease.ID {
		t.Fatalf("second server leases %+v, want generator %d released by the first", second.Lease, first.Lease.ID)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("second server took %v to start", d)
	}
	// While the second holds it, a third gets another id.
	third := getStats(t, startLeased(t, nil, "--db", db, "--group", "releasetest").URL)
	if third.Lease == nil || third.Lease.ID == second.Lease.ID {
		t.Errorf("third server leases %+v while the second holds %d", third.Lease, second.Lease.ID)
	}
}

// TestServeDefaultDB runs snowfall serve without node flags: it leases from a SQLite file in the
// state directory.
func TestServeDefaultDB(t *testing.T) {
	state := t.TempDir()
	s := startLeased(t, map[string]string{"XDG_STATE_HOME": state})
	st := getStats(t, s.URL)
	if st.Lease == nil || st.Lease.State != "held" {
		t.Fatalf("stats %+v, want a held lease", st)
	}
	if _, err := os.Stat(filepath.Join(state, "snowfall", "leases.db")); err != nil {
		t.Errorf("no lease database in the state directory: %v", err)
	}
	if code, body := cmdtest.Get(t, s.URL+"/"); code != 200 {
		t.Errorf("GET /: %d %q", code, body)
	}
}
