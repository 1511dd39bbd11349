package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

var tornadoArgsCases = []struct {
	name     string
	in, want []string
}{
	{"underscores", []string{"--log_file_prefix=/tmp/a_b.log", "--num_processes", "1"}, []string{"--log-file-prefix=/tmp/a_b.log", "--num-processes", "1"}},
	{"values keep underscores", []string{"--state-file", "/var/lib/a_b", "--logging=my_level"}, []string{"--state-file", "/var/lib/a_b", "--logging=my_level"}},
	{"single dash", []string{"-log_to_stderr"}, []string{"-log-to-stderr"}},
	{"after --", []string{"--dc=1", "--", "--x_y"}, []string{"--dc=1", "--", "--x_y"}},
	{"empty", nil, []string{}},
}

func TestTornadoArgs(t *testing.T) {
	for _, c := range tornadoArgsCases {
		t.Run(c.name, func(t *testing.T) {
			if got := tornadoArgs(c.in); !slices.Equal(got, c.want) {
				t.Errorf("tornadoArgs(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// FuzzTornadoArgs checks that tornadoArgs keeps the number of words, changes only option names,
// and is idempotent.
func FuzzTornadoArgs(f *testing.F) {
	for _, c := range tornadoArgsCases {
		f.Add(strings.Join(c.in, "\x00"))
	}
	f.Fuzz(func(t *testing.T, joined string) {
		in := strings.Split(joined, "\x00")
		out := tornadoArgs(in)
		if len(out) != len(in) {
			t.Fatalf("tornadoArgs(%q) = %q: %d words, want %d", in, out, len(out), len(in))
		}
		for i := range in {
			_, vin, _ := strings.Cut(in[i], "=")
			_, vout, _ := strings.Cut(out[i], "=")
			if vin != vout || len(in[i]) != len(out[i]) {
				t.Fatalf("word %q became %q", in[i], out[i])
			}
		}
		if again := tornadoArgs(out); !slices.Equal(again, out) {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
	})
}

// TestPysnowflakeCommandLines runs the built command with pysnowflake's documented command line
// (--host) and the one its code defines (--address, Tornado's logging options), and checks the
// IDs' dc and worker and where the log went.
func TestPysnowflakeCommandLines(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "psf.log")
	for _, c := range []struct {
		name       string
		args       []string
		dc, worker int64
		logFile    bool
	}{
		{"documented", []string{"--dc=1", "--worker=7", "--host=127.0.0.1", "--port=0"}, 1, 7, false},
		{"code's --address", []string{"--address=127.0.0.1", "--port=0", "--dc=2", "--worker=3"}, 2, 3, false},
		{"tornado options", []string{"--address", "127.0.0.1", "--port", "0", "--dc=4", "--worker=5", "--num_processes=1", "--debug",
			"--logging=debug", "--log_file_prefix=" + logFile, "--log_file_max_size=1000", "--log_rotate_mode=time", "--log-rotate-when=D"}, 4, 5, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, url, stderr := bin.StartBinary(t, nil, c.args...)
			code, body := cmdtest.Get(t, url+"/")
			if code != 200 {
				t.Fatalf("GET /: %d %q", code, body)
			}
			id, err := snowfall.ParseID(body)
			if err != nil {
				t.Fatal(err)
			}
			l, _ := snowfall.Preset(snowfall.PresetPysnowflake)
			if p, _ := l.Decode(id); p.DC != c.dc || p.Worker != c.worker {
				t.Errorf("ID %d: dc %d worker %d, want %d %d", id, p.DC, p.Worker, c.dc, c.worker)
			}
			if !c.logFile {
				// The command prints its address before it logs the start record: under load the
				// record can come a moment after the first answer.
				deadline := time.Now().Add(5 * time.Second)
				for !strings.Contains(stderr.String(), "pysnowflake-compatible server") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(stderr.String(), "pysnowflake-compatible server") {
					t.Errorf("stderr lacks the start record: %s", stderr.String())
				}
				return
			}
			if s := stderr.String(); s != "" {
				t.Errorf("stderr %q, want nothing: the log goes to --log_file_prefix", s)
			}
			b, err := os.ReadFile(logFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"pysnowflake-compatible server", "level=DEBUG", "not rotated", "--log_file_max_size --log_rotate_mode --log_rotate_when"} {
				if !strings.Contains(string(b), want) {
					t.Errorf("log file lacks %q:\n%s", want, b)
				}
			}
		})
	}
}

// TestTornadoRefusals checks the options refused, with exit 2 and the reason on stderr.
func TestTornadoRefusals(t *testing.T) {
	exe := bin.Path(t)
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"num_processes 4", []string{"--num_processes=4"}, []string{"--num_processes 4", "repeat IDs", "--worker"}},
		{"num_processes 0", []string{"--num_processes=0"}, []string{"one process per CPU core", "repeat IDs"}},
		{"num-processes spelled with -", []string{"--num-processes", "2"}, []string{"--num_processes 2", "repeat IDs"}},
		{"logging level", []string{"--logging=loud"}, []string{`"loud"`, "debug, info, warning, error or none"}},
		{"rotate mode", []string{"--log_rotate_mode=weekly"}, []string{`"weekly"`, "size or time"}},
		{"num_processes not a number", []string{"--num_processes=many"}, []string{"many", "num-processes"}},
		{"log file in a missing directory", []string{"--log_file_prefix=/nonexistent/dir/x.log"}, []string{"--log_file_prefix", "/nonexistent/dir/x.log"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(exe, append([]string{"--host=127.0.0.1", "--port=0"}, c.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			wantCode := 2
			if c.name == "log file in a missing directory" {
				wantCode = 1
			}
			if code := cmd.ProcessState.ExitCode(); code != wantCode {
				t.Fatalf("exit %d (%v), want %d; stderr %s", code, err, wantCode, stderr.String())
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q does not mention %q", stderr.String(), w)
				}
			}
		})
	}
}
