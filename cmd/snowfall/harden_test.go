//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/statefile"
)

// runExe runs the built snowfall with args and env, for at most limit, and returns its exit code,
// its stderr and how long it ran.
func runExe(t *testing.T, limit time.Duration, env []string, args ...string) (int, string, time.Duration) {
	t.Helper()
	exe := bin.Path(t) // built before the clock starts
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("snowfall %s still running after %v; stderr %s", strings.Join(args, " "), limit, stderr.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), time.Since(start)
}

// TestServeRefusesProcessLocalLease: two processes each with an in-process assigner would both
// lease generator 0, so serve refuses one and names the alternatives.
func TestServeRefusesProcessLocalLease(t *testing.T) {
	for _, db := range []string{"memory", "sqlite::memory:", "SQLITE::memory:?cache=shared"} {
		t.Run(db, func(t *testing.T) {
			code, stderr, _ := runExe(t, 10*time.Second, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--db", db)
			if code != 2 {
				t.Fatalf("exit %d, want 2; stderr %s", code, stderr)
			}
			for _, want := range []string{"--generator", "sqlite:///"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not point to %s", stderr, want)
				}
			}
		})
	}
}

// startState runs serve --generator 3 --state-file path in-process and returns the server, or the
// error it stopped with before listening.
func startState(t *testing.T, path string) (*cmdtest.Server, error) {
	t.Helper()
	return cmdtest.Start(t, run, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--generator", "3", "--state-file", path)
}

// TestStateFileIdentity: a second server reaching a state file in use through a symlink or a hard
// link is refused; the symlink stays a symlink after the mark moves; a FIFO is refused at once.
func TestStateFileIdentity(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "gen3.state")
	s := mustStartState(t, real)

	sym := filepath.Join(t.TempDir(), "via-symlink.state")
	if err := os.Symlink(real, sym); err != nil {
		t.Fatal(err)
	}
	if _, err := startState(t, sym); !errors.Is(err, statefile.ErrInUse) {
		t.Errorf("second server through a symlink: %v, want ErrInUse", err)
	}
	// The same from another process, the built command.
	code, stderr, _ := runExe(t, 20*time.Second, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--generator", "3", "--state-file", sym)
	if code != 1 || !strings.Contains(stderr, "kept by another process") {
		t.Errorf("second process through a symlink: exit %d, stderr %q; want 1, in use", code, stderr)
	}
	symdir := filepath.Join(t.TempDir(), "dirlink")
	if err := os.Symlink(dir, symdir); err != nil {
		t.Fatal(err)
	}
	if _, err := startState(t, filepath.Join(symdir, "gen3.state")); !errors.Is(err, statefile.ErrInUse) {
		t.Errorf("second server through a symlinked directory: %v, want ErrInUse", err)
	}
	hard := filepath.Join(dir, "hardlink.state")
	if err := os.Link(real, hard); err != nil {
		t.Fatal(err)
	}
	if _, err := startState(t, hard); err == nil || !strings.Contains(err.Error(), "hard link") {
		t.Errorf("second server through a hard link: %v, want a refusal naming the hard link", err)
	}
	// The first server sees the second name before it moves its mark, and stops issuing rather
	// than leave the other name behind with an old mark.
	time.Sleep(600 * time.Millisecond)
	if code, _, body := get(t, s.URL+"/"); code != 503 {
		t.Errorf("GET / from the server whose file got a hard link: %d %q, want 503", code, body)
	}
	os.Remove(hard)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	// A server started through the symlink writes through it: the link stays, the target moves.
	before, err := statefile.Read(real)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := startState(t, sym)
	if err != nil {
		t.Fatalf("start through a symlink alone: %v", err)
	}
	time.Sleep(600 * time.Millisecond) // the mark moves every 250 ms
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(sym); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", fi.Mode(), err)
	}
	after, err := statefile.Read(real)
	if err != nil || !after.Mark.After(before.Mark) {
		t.Errorf("the target's mark %v did not move past %v (%v)", after.Mark, before.Mark, err)
	}

	fifo := filepath.Join(t.TempDir(), "fifo.state")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := startState(t, fifo); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO state file: %v, want a refusal saying it is not a regular file", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing the FIFO took %v", d)
	}
}

func mustStartState(t *testing.T, path string) *cmdtest.Server {
	t.Helper()
	s, err := startState(t, path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get fetches url and returns the answer.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

// TestServeReadiness: /readyz and /healthz answer what GET / would, without spending an ID, and
// /livez answers 200 regardless: with a state-file mark an hour ahead and with a layout that ran out.
func TestServeReadiness(t *testing.T) {
	l := snowfall.DefaultLayout()
	future := filepath.Join(t.TempDir(), "future.state")
	if err := statefile.Write(future, statefile.State{Layout: l, Node: snowfall.Node{Generator: 4},
		Mark: time.Now().Add(time.Hour).Truncate(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		reason string
		log    string
	}{
		{"mark an hour ahead", []string{"--generator", "4", "--state-file", future}, "clock", "behind"},
		{"layout ran out", []string{"--generator", "4", "--epoch", "0"}, "ran out", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, nil, c.args...)
			if code, _, body := get(t, s.URL+"/"); code != 503 {
				t.Fatalf("GET /: %d %q, want 503", code, body)
			}
			for _, path := range []string{"/readyz", "/healthz"} {
				code, h, body := get(t, s.URL+path)
				if code != 503 || !strings.Contains(body, c.reason) || h.Get("Retry-After") == "" {
					t.Errorf("%s: %d %q Retry-After %q; want 503 saying %q with Retry-After", path, code, body, h.Get("Retry-After"), c.reason)
				}
			}
			req, _ := http.NewRequest("HEAD", s.URL+"/", nil)
			if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 503 {
				t.Errorf("HEAD /: %v %v, want 503", resp, err)
			}
			if code, _, body := get(t, s.URL+"/livez"); code != 200 {
				t.Errorf("/livez: %d %q, want 200", code, body)
			}
			if !strings.Contains(s.Stderr.String(), c.log) {
				t.Errorf("log does not warn with %q: %s", c.log, s.Stderr.String())
			}
		})
	}
	t.Run("ready", func(t *testing.T) {
		s := startServe(t, nil, "--generator", "4")
		for _, path := range []string{"/readyz", "/healthz", "/livez"} {
			if code, _, body := get(t, s.URL+path); code != 200 {
				t.Errorf("%s: %d %q, want 200", path, code, body)
			}
		}
		if st := getStatsRaw(t, s.URL); strings.Contains(st, `"ids_generated":1`) {
			t.Errorf("probes spent an ID: %s", st)
		}
	})
}

func getStatsRaw(t *testing.T, url string) string {
	t.Helper()
	_, _, body := get(t, url+"/stats")
	return body
}

// TestServeSecretsRedacted: no form of a database URL shows its password in a message or log line.
func TestServeSecretsRedacted(t *testing.T) {
	const secret = "s3cr3tpw"
	for _, c := range []struct {
		name string
		db   string
	}{
		{"userinfo", "postgres://u:" + secret + "@127.0.0.1:1/db"},
		{"query", "postgres://u@127.0.0.1:1/db?password=" + secret},
		{"unparsable", "postgres://u:" + secret + "@[::1/db"},
		{"unparsable query", "mysql://u@[::1/db?password=" + secret},
		{"key=value", "host=127.0.0.1 user=u password=" + secret + " dbname=db"},
		{"no scheme", "//u:" + secret + "@127.0.0.1/db"},
		{"no scheme bare", "u:" + secret + "@127.0.0.1/db"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, _ := runExe(t, 20*time.Second, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--db", c.db, "--db-timeout", "2s", "--exit-on-start-failure")
			if strings.Contains(stderr, secret) {
				t.Errorf("the password shows: %s", stderr)
			}
			_, stderr, _ = runExe(t, 20*time.Second, nil, "leases", "--db", c.db, "--db-timeout", "2s")
			if strings.Contains(stderr, secret) {
				t.Errorf("leases: the password shows: %s", stderr)
			}
		})
	}
	t.Run("lease acquired", func(t *testing.T) {
		db := postgresURL() + "&password=" + secret
		s := startLeased(t, nil, "--db", db, "--group", "redacttest")
		if code, _, body := get(t, s.URL+"/"); code != 200 {
			t.Fatalf("GET /: %d %q", code, body)
		}
		for _, path := range []string{"/stats", "/healthz", "/readyz", "/metrics"} {
			if _, _, body := get(t, s.URL+path); strings.Contains(body, secret) {
				t.Errorf("%s shows the password: %s", path, body)
			}
		}
		if err := s.Stop(); err != nil {
			t.Fatal(err)
		}
		if log := s.Stderr.String(); strings.Contains(log, secret) || !strings.Contains(log, "lease acquired") {
			t.Errorf("log shows the password or no lease: %s", log)
		}
	})
}

func postgresURL() string { return testdb.Postgres() }

// silentServer accepts TCP connections and never answers: a database that hangs.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestDatabaseDeadline: against a database that accepts connections and never answers, serve,
// schema create and leases say what they wait for and give up with a clear error, exit 1.
func TestDatabaseDeadline(t *testing.T) {
	addr := silentServer(t)
	for _, db := range []string{"postgres://u@" + addr + "/db?sslmode=disable", "mysql://u@" + addr + "/db"} {
		for _, args := range [][]string{
			{"serve", "--host", "127.0.0.1", "--port", "0", "--db", db, "--exit-on-start-failure"},
			{"schema", "create", "--db", db},
			{"leases", "--db", db},
		} {
			t.Run(args[0]+" "+db[:5], func(t *testing.T) {
				code, stderr, took := runExe(t, 30*time.Second, nil, append(args, "--db-timeout", "1500ms")...)
				if code != 1 {
					t.Errorf("exit %d, want 1; stderr %s", code, stderr)
				}
				if took > 10*time.Second {
					t.Errorf("gave up after %v, want about 1.5s", took)
				}
				for _, want := range []string{"waiting for the database", "gave up after 1.5s", addr} {
					if !strings.Contains(stderr, want) {
						t.Errorf("stderr %q does not say %q", stderr, want)
					}
				}
			})
		}
	}
}

// TestDurationBounds: every duration flag is bounded, and the error names the flag and the range.
func TestDurationBounds(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"probe tiny", nil, []string{"serve", "--db", "sqlite:///tmp/x.db", "--probe", "1ns"}, "--probe 1ns out of range [50ms, 10m0s]"},
		{"probe huge", nil, []string{"serve", "--db", "sqlite:///tmp/x.db", "--probe", "1000000h"}, "--probe 1000000h0m0s out of range"},
		{"probe env", map[string]string{"SNOWFALL_PROBE": "1ns"}, []string{"serve", "--db", "sqlite:///tmp/x.db"}, "SNOWFALL_PROBE"},
		{"schema probe", nil, []string{"schema", "create", "--db", "sqlite:///tmp/x.db", "--probe", "1000000h"}, "--probe 1000000h0m0s out of range [50ms, 10m0s]"},
		{"clock offset", nil, []string{"serve", "--generator", "1", "--clock-offset", "1000h"}, "--clock-offset 1000h0m0s out of range [-24h0m0s, 24h0m0s]"},
		{"db timeout", nil, []string{"leases", "--db", "sqlite:///tmp/x.db", "--db-timeout", "0s"}, "--db-timeout 0s out of range [100ms, 10m0s]"},
		{"get timeout", nil, []string{"get", "--timeout", "-1s"}, "--timeout -1s out of range [1ms, 10m0s]"},
		{"unit 0ms", nil, []string{"next", "--layout", "time=41,seq=11,gen=11,unit=0ms"}, "unit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out, stderr bytes.Buffer
			sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &stderr, Getenv: func(k string) string { return c.env[k] }}
			code := report(run(ctx, c.args, sio), sio)
			if code != 2 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %q", code, stderr.String(), c.want)
			}
		})
	}
}

// TestStrictNumbers: numbers are plain decimal on the command line and in the environment, and a
// bad value from the environment is named by its variable.
func TestStrictNumbers(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"hex port", nil, []string{"--port", "0x10"}, `"0x10" is not a whole number`},
		{"spaced port env", map[string]string{"SNOWFALL_PORT": " 5"}, nil, "SNOWFALL_PORT"},
		{"spaced zero env", map[string]string{"SNOWFALL_PORT": " 0"}, nil, "SNOWFALL_PORT"},
		{"port env range", map[string]string{"SNOWFALL_PORT": "70000"}, nil, "SNOWFALL_PORT 70000 out of range [0, 65535]"},
		{"generator plus", nil, []string{"--generator", "+5"}, `"+5" is not a whole number`},
		{"generator env spaced", map[string]string{"SNOWFALL_GENERATOR": " 5"}, nil, "SNOWFALL_GENERATOR"},
		{"max-conns", nil, []string{"--max-conns", "0"}, "--max-conns 0 out of range"},
		{"next -n hex", nil, []string{"next", "-n", "0x10"}, `"0x10" is not a whole number`},
		{"get -n env", map[string]string{"SNOWFALL_N": " 3"}, []string{"get"}, "SNOWFALL_N"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var out, stderr bytes.Buffer
			sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &stderr, Getenv: func(k string) string { return c.env[k] }}
			args := append([]string{"serve", "--host", "127.0.0.1"}, c.args...)
			if len(c.args) > 0 && (c.args[0] == "next" || c.args[0] == "get") {
				args = c.args
			}
			code := report(run(ctx, args, sio), sio)
			if code != 2 || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %q", code, stderr.String(), c.want)
			}
		})
	}
}

// TestSQLitePathReason: an unusable SQLite path is named with the reason, not only the driver's
// "unable to open database file".
func TestSQLitePathReason(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, path, want string }{
		{"missing directory", filepath.Join(dir, "nope", "x.db"), "no such file or directory"},
		{"directory is a file", filepath.Join(file, "x.db"), "is not a directory"},
		{"database is a directory", dir, "is not a regular file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stderr, _ := runExe(t, 20*time.Second, nil, "leases", "--db", "sqlite://"+c.path)
			if code != 1 || !strings.Contains(stderr, c.path) || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 1 naming %s and %q", code, stderr, c.path, c.want)
			}
		})
	}
}

// TestServeStateDirIsAPath: XDG_STATE_HOME is a path: '%', '?' and '#' in it are taken literally.
func TestServeStateDirIsAPath(t *testing.T) {
	state := filepath.Join(t.TempDir(), "a%20b?c#d")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	s := startLeased(t, map[string]string{"XDG_STATE_HOME": state})
	if code, _, body := get(t, s.URL+"/"); code != 200 {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if _, err := os.Stat(filepath.Join(state, "snowfall", "leases.db")); err != nil {
		t.Errorf("no lease database under the literal path: %v; stderr %s", err, s.Stderr.String())
	}
}

// TestServeStateFilePathHidden: when the mark can no longer be written, answers say so without
// the state file's path, which goes to the log.
func TestServeStateFilePathHidden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secret-dir-name")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, nil, "--generator", "6", "--state-file", filepath.Join(dir, "gen6.state"))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, body := get(t, s.URL+"/")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d %q 5s after the state directory went away", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/", "/ids?n=2", "/readyz", "/healthz", "/stats"} {
		if _, _, body := get(t, s.URL+path); strings.Contains(body, "secret-dir-name") {
			t.Errorf("%s shows the state file's path: %s", path, body)
		}
	}
	if !strings.Contains(s.Stderr.String(), "secret-dir-name") {
		t.Errorf("the log does not name the state file: %s", s.Stderr.String())
	}
}
