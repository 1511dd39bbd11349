// Package cmdtest runs the project's server commands in tests, in-process through their run
// function or as built binaries, on random loopback ports, and reads the address they print.
package cmdtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/statefile"
)

// startTimeout bounds the wait for a command's listen address.
const startTimeout = 20 * time.Second

// RunFunc is a command's entry point: main's run, or a subcommand's Run.
type RunFunc func(ctx context.Context, args []string, sio cli.IO) error

// LockedBuffer is a stderr that tests may read while the command writes.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// addrWriter is a stdout that hands the address of the "listening on" line to a channel.
type addrWriter struct {
	once sync.Once
	addr chan string
}

func (w *addrWriter) Write(b []byte) (int, error) {
	if a, ok := idsource.ParseListen(string(b)); ok {
		w.once.Do(func() { w.addr <- a })
	}
	return len(b), nil
}

// Server is a command running in-process.
type Server struct {
	URL    string // http://127.0.0.1:port
	Stderr *LockedBuffer
	stop   func() error
}

// Stop cancels the command's context and returns what its run function returned. It may be called
// more than once.
func (s *Server) Stop() error { return s.stop() }

// Start calls run with args in a goroutine, with env as its environment, and waits for the address
// it listens on. args must make it listen on a loopback port of its choice (--port 0). When run
// returns before listening, Start returns its error. Otherwise the server is stopped when the test
// ends, and an error it returns then fails the test.
func Start(t testing.TB, run RunFunc, env map[string]string, args ...string) (*Server, error) {
	t.Helper()
	out := &addrWriter{addr: make(chan string, 1)}
	errb := &LockedBuffer{}
	sio := cli.IO{In: strings.NewReader(""), Out: out, Err: errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, sio) }()
	var once sync.Once
	var runErr error
	s := &Server{Stderr: errb, stop: func() error {
		once.Do(func() { cancel(); runErr = <-done })
		return runErr
	}}
	select {
	case a := <-out.addr:
		s.URL = "http://" + a
	case err := <-done:
		cancel()
		return nil, err
	case <-time.After(startTimeout):
		cancel()
		t.Fatalf("no listen address after %v; stderr %s", startTimeout, errb.String())
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("run: %v (stderr %s)", err, errb.String())
		}
	})
	return s, nil
}

// MustStart is Start, failing the test when the command returns before listening.
func MustStart(t testing.TB, run RunFunc, env map[string]string, args ...string) *Server {
	t.Helper()
	s, err := Start(t, run, env, args...)
	if err != nil {
		t.Fatalf("run returned %v before listening", err)
	}
	return s
}

// Get fetches url and returns the status code and the body.
func Get(t testing.TB, url string) (int, string) {
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

// WaitReady polls url's /readyz until it answers 200 (a leased server listens before it holds its
// lease), and fails the test after startTimeout.
func WaitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		code, body := Get(t, url+"/readyz")
		if code == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz still %d %q after %v", url, code, body, startTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Binary is a command built once per test binary: declare one as a package variable, and call
// Remove from TestMain.
type Binary struct {
	Name string // the command's name
	Pkg  string // the package to build; "" for the current directory (see Command)

	once sync.Once
	dir  string
	err  error
}

// Command returns the Binary of this module's command name (cmd/name), for tests outside its
// directory.
func Command(name string) *Binary {
	return &Binary{Name: name, Pkg: "github.com/snowfall-go/snowfall/cmd/" + name}
}

// Path builds the command on first use and returns the path of the executable.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", b.Name+"-test"); b.err != nil {
			return
		}
		pkg := b.Pkg
		if pkg == "" {
			pkg = "."
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(b.dir, b.Name), pkg).CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return filepath.Join(b.dir, b.Name)
}

// Remove deletes the built executable.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// StartBinary runs the command with args, which must make it listen on a loopback port of its
// choice, and env added to this process's environment. It returns the process, its base URL and its
// stderr. The process is killed when the test ends if it has not been waited for.
func (b *Binary) StartBinary(t testing.TB, env []string, args ...string) (*exec.Cmd, string, *LockedBuffer) {
	t.Helper()
	cmd := exec.Command(b.Path(t), args...)
	cmd.Env = append(os.Environ(), env...)
	stderr := &LockedBuffer{}
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
	addr, ok := idsource.ParseListen(line)
	if !ok {
		t.Fatalf("first line %q (%v), want the listen address; stderr %s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	return cmd, "http://" + addr, stderr
}

// CheckStateFile tests a server command's --state-file with the node flags nodeArgs, which must
// give the node values want: the first run records a mark at or above the ID it served; a restart
// with the clock 5 s behind refuses to issue below the mark (503); a torn file stops the command
// from starting with statefile.ErrCorrupt.
func CheckStateFile(t *testing.T, run RunFunc, nodeArgs []string, want snowfall.Node) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state")
	serveOnce := func(extra ...string) (int, string, error) {
		t.Helper()
		args := append([]string{"--host", "127.0.0.1", "--port", "0", "--state-file", path}, nodeArgs...)
		s, err := Start(t, run, nil, append(args, extra...)...)
		if err != nil {
			return 0, "", err
		}
		code, body := Get(t, s.URL+"/")
		if err := s.Stop(); err != nil {
			t.Fatalf("run: %v (stderr %s)", err, s.Stderr.String())
		}
		return code, body, nil
	}

	code, body, err := serveOnce()
	if err != nil || code != http.StatusOK {
		t.Fatalf("first run: %d %q %v", code, body, err)
	}
	st, err := statefile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Node != want {
		t.Errorf("state file node = %+v, want %+v", st.Node, want)
	}
	id, err := snowfall.ParseID(body)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Layout.Decode(id); p.Time.After(st.Mark) {
		t.Errorf("ID at %s above the recorded mark %s", p.Time, st.Mark)
	}

	if code, body, err := serveOnce("--clock-offset", "-5s"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("restart with the clock 5s behind: %d %q %v; want 503", code, body, err)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := serveOnce(); !errors.Is(err, statefile.ErrCorrupt) {
		t.Errorf("start with a torn state file: %v, want ErrCorrupt", err)
	}
}
