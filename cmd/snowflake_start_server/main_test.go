package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/server"
)

// addrWriter is a stdout that hands the address of the "listening on" line to a channel.
type addrWriter struct {
	once sync.Once
	addr chan string
}

func (w *addrWriter) Write(b []byte) (int, error) {
	if a, ok := server.ParseListen(string(b)); ok {
		w.once.Do(func() { w.addr <- a })
	}
	return len(b), nil
}

// lockedBuffer is a stderr that tests may read while the command writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the command in-process on a random loopback port and returns its base URL; the
// server stops, and its exit is checked, when the test ends.
func start(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out := &addrWriter{addr: make(chan string, 1)}
	errb := &lockedBuffer{}
	sio := cli.IO{In: strings.NewReader(""), Out: out, Err: errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...), sio) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v (stderr %s)", err, errb.String())
		}
	})
	select {
	case a := <-out.addr:
		return "http://" + a
	case err := <-done:
		done <- err
		t.Fatalf("run returned %v before listening; stderr %s", err, errb.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("no listen address; stderr %s", errb.String())
	}
	return ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestDCWorker checks the dc and worker of the IDs and of /stats: flag beats env beats default.
func TestDCWorker(t *testing.T) {
	for _, c := range []struct {
		name       string
		env        map[string]string
		args       []string
		dc, worker int64
	}{
		{"defaults", nil, nil, 0, 0},
		{"flags", nil, []string{"--dc", "15", "--worker", "255"}, 15, 255},
		{"flags with =", nil, []string{"--dc=3", "--worker=44"}, 3, 44},
		{"env", map[string]string{"PSF_DC": "7", "PSF_WORKER": "100"}, nil, 7, 100},
		{"flag beats env", map[string]string{"PSF_DC": "7", "PSF_WORKER": "100"}, []string{"--worker", "1"}, 7, 1},
		{"other env ignored", map[string]string{"PSF_PORT": "x", "PSF_HOST": "nowhere"}, nil, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			url := start(t, c.env, c.args...)
			code, body := get(t, url+"/")
			if code != 200 {
				t.Fatalf("GET /: %d %q", code, body)
			}
			id, err := snowfall.ParseID(body)
			if err != nil {
				t.Fatal(err)
			}
			l, _ := snowfall.Preset(snowfall.PresetPysnowflake)
			p, _ := l.Decode(id)
			if p.DC != c.dc || p.Worker != c.worker {
				t.Errorf("ID %d has dc %d worker %d, want %d %d", id, p.DC, p.Worker, c.dc, c.worker)
			}
			_, body = get(t, url+"/stats")
			var st struct {
				DC, Worker int64
				Layout     string
			}
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatal(err)
			}
			if st.DC != c.dc || st.Worker != c.worker || st.Layout != "pysnowflake" {
				t.Errorf("stats %+v, want dc %d worker %d layout pysnowflake", st, c.dc, c.worker)
			}
		})
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the command once per test run, into a temporary directory.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "snowflake_start_server-test")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "snowflake_start_server")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" && buildErr == nil {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestUsageExit runs the built command with bad values and checks exit code 2 and the message.
func TestUsageExit(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"dc too big", nil, []string{"--dc", "16"}, []string{"-dc", "16", "[0, 15]"}},
		{"dc negative", nil, []string{"--dc=-1"}, []string{"-dc", "-1", "[0, 15]"}},
		{"worker too big", nil, []string{"--worker", "256"}, []string{"-worker", "256", "[0, 255]"}},
		{"worker not a number", nil, []string{"--worker", "abc"}, []string{"-worker", "abc", "[0, 255]"}},
		{"env dc too big", []string{"PSF_DC=99"}, nil, []string{"PSF_DC", "99", "[0, 15]"}},
		{"env worker not a number", []string{"PSF_WORKER=w1"}, nil, []string{"PSF_WORKER", "w1", "[0, 255]"}},
		{"port out of range", nil, []string{"--port", "65536"}, []string{"--port", "65536", "[0, 65535]"}},
		{"unknown flag", nil, []string{"--nope"}, []string{"nope"}},
		{"stray argument", nil, []string{"extra"}, []string{"extra"}},
		{"log format", nil, []string{"--log-format", "xml"}, []string{"xml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(os.Environ(), c.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit %d (%v), want 2; stderr %s", code, err, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), w)
				}
			}
		})
	}
}

// startBinary runs the built command on a random port and returns it and its base URL.
func startBinary(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := server.ParseListen(line)
	if !ok {
		t.Fatalf("first line %q (%v), want the listen address; stderr %s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return cmd, "http://" + addr, stderr
}

// TestSignals checks that SIGTERM and SIGINT stop the server with exit 0, after it served.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, url, stderr := startBinary(t, []string{"PSF_DC=2"}, "--log-format", "json")
			if code, body := get(t, url+"/"); code != 200 {
				t.Fatalf("GET /: %d %q", code, body)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit: %v; stderr %s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no exit within 10s of the signal")
			}
			for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("log line %q is not JSON: %v", line, err)
				}
			}
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Errorf("no stop record in the log: %s", stderr.String())
			}
		})
	}
}

// TestPython fetches an ID and /stats the way pysnowflake's client does, with Debian's Python 3
// and requests (installed by .ci/python-deps.sh). Where CI is set, a missing requests fails.
func TestPython(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import requests").CombinedOutput(); err != nil {
		msg := python + " cannot import requests (run .ci/python-deps.sh): " + strings.TrimSpace(string(out))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	url := start(t, map[string]string{"PSF_DC": "9", "PSF_WORKER": "77"})
	const script = `
import json, sys, requests
url = sys.argv[1]
a = int(requests.get(url).text)
b = int(requests.get(url + "/").text)
assert b > a > 0, (a, b)
stats = json.loads(requests.get(url + "/stats").text)
for k in ("dc", "worker", "timestamp", "last_timestamp", "sequence", "sequence_overload", "errors"):
    assert k in stats, k
print(json.dumps({"a": a, "b": b, "dc": stats["dc"], "worker": stats["worker"]}))
`
	out, err := exec.Command(python, "-c", script, url).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var got struct{ A, B, DC, Worker int64 }
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python printed %q: %v", out, err)
	}
	l, _ := snowfall.Preset(snowfall.PresetPysnowflake)
	for _, v := range []int64{got.A, got.B} {
		p, err := l.Decode(snowfall.ID(v))
		if err != nil || p.DC != 9 || p.Worker != 77 {
			t.Errorf("ID %d decodes to %+v (%v), want dc 9 worker 77", v, p, err)
		}
	}
	if got.DC != 9 || got.Worker != 77 {
		t.Errorf("stats dc %d worker %d, want 9 77", got.DC, got.Worker)
	}
}
