package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// start runs the command in-process on a random loopback port and returns its base URL; the
// server stops, and its exit is checked, when the test ends.
func start(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	return cmdtest.MustStart(t, run, env, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...).URL
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
			code, body := cmdtest.Get(t, url+"/")
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
			_, body = cmdtest.Get(t, url+"/stats")
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

// bin is the command, built for the tests that need a process of its own.
var bin = cmdtest.Binary{Name: "snowflake_start_server"}

func TestMain(m *testing.M) {
	code := m.Run()
	bin.Remove()
	os.Exit(code)
}

// TestUsageExit runs the built command with bad values and checks exit code 2 and the message.
func TestUsageExit(t *testing.T) {
	exe := bin.Path(t)
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
		{"port in hex", nil, []string{"--port", "0x10"}, []string{"-port", "0x10", "decimal"}},
		{"port with a space", nil, []string{"--port", " 5"}, []string{"-port", "decimal"}},
		{"dc with a space", nil, []string{"--dc", " 5"}, []string{"-dc", "[0, 15]"}},
		{"env worker with a plus", []string{"PSF_WORKER=+7"}, nil, []string{"PSF_WORKER", "+7", "[0, 255]"}},
		{"unknown flag", nil, []string{"--nope"}, []string{"nope"}},
		{"stray argument", nil, []string{"extra"}, []string{"extra"}},
		{"log format", nil, []string{"--log-format", "xml"}, []string{"xml"}},
		// serve's bounds, named at once (the offset used to fail later, in the generator's words).
		{"clock offset too far ahead", nil, []string{"--clock-offset", "24h0m0.001s"}, []string{"--clock-offset", "24h0m0.001s", "[-24h0m0s, 24h0m0s]"}},
		{"clock offset too far behind", nil, []string{"--clock-offset=-1000h"}, []string{"--clock-offset", "-1000h0m0s", "[-24h0m0s, 24h0m0s]"}},
		{"host not an address", nil, []string{"--host", "not an address"}, []string{"--host", `"not an address"`}},
		{"host empty", nil, []string{"--host", ""}, []string{"--host", "0.0.0.0"}},
		{"address not an address", nil, []string{"--address=a..b"}, []string{"--address", `"a..b"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// A usage error exits at once; a bad value taken as valid would start a server.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, exe, c.args...)
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
func startBinary(t *testing.T, env []string, args ...string) (*exec.Cmd, string, *cmdtest.LockedBuffer) {
	t.Helper()
	return bin.StartBinary(t, env, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...)...)
}

// TestSignals checks that SIGTERM and SIGINT stop the server with exit 0, after it served.
func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, url, stderr := startBinary(t, []string{"PSF_DC=2"}, "--log-format", "json")
			if code, body := cmdtest.Get(t, url+"/"); code != 200 {
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
