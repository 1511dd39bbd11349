package aliases

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/snowfall-go/snowfall/api"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

// startTimeout bounds the wait for a server's listen address (a SQL store may take a while to open
// when several processes create it at once).
const startTimeout = 30 * time.Second

// Proc is a running snowfall serve process.
type Proc struct {
	URL  string // http://127.0.0.1:port
	Args []string

	cmd    *exec.Cmd
	stderr *buffer
	exited chan struct{}
}

// Refusal is a serve process that exited before it was ready: before it listened, or after, when a
// lease store opened in the background proved one it cannot use (not shared, another layout).
type Refusal struct {
	Code   int
	Stderr string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("exit %d: %s", r.Code, strings.TrimSpace(r.Stderr))
}

// buffer is a stderr that may be read while the process writes it.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Start runs exe serve on a random loopback port with args, in the working directory dir ("" for
// this process's), with env added to this process's environment. It returns the server once it
// listens and answers /readyz with 200 (or readyWait has passed: a server that waits, for a mark
// ahead of its clock say, answers 503 to what it is asked), or a *Refusal when the process exits
// first. Stop or Kill the server when done.
func Start(exe, dir string, env []string, args ...string) (*Proc, error) {
	p, err := start(nil, exe, dir, env, args)
	if err != nil {
		return nil, err
	}
	return p.ready()
}

// StartListening is Start without the wait for /readyz: it returns once the server listens, for a
// test of what a server answers before it is ready.
func StartListening(exe, dir string, env []string, args ...string) (*Proc, error) {
	return start(nil, exe, dir, env, args)
}

// StartWrapped is Start, running exe through the command wrap (such as unshare).
func StartWrapped(wrap []string, exe, dir string, env []string, args ...string) (*Proc, error) {
	p, err := start(wrap, exe, dir, env, args)
	if err != nil {
		return nil, err
	}
	return p.ready()
}

// start runs exe through the command wrap (such as unshare) when it is not empty, and returns once
// it listens (or a *Refusal when it exits first).
func start(wrap []string, exe, dir string, env []string, args []string) (*Proc, error) {
	all := append([]string{exe, "serve", "--host", "127.0.0.1", "--port", "0"}, args...)
	all = append(wrap, all...)
	cmd := exec.Command(all[0], all[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	s := &Proc{Args: args, cmd: cmd, stderr: &buffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		line, _ := r.ReadString('\n')
		if a, ok := idsource.ParseListen(line); ok {
			addr <- a
		}
		io.Copy(io.Discard, r)
	}()
	go func() { cmd.Wait(); close(s.exited) }()
	select {
	case a := <-addr:
		s.URL = "http://" + a
		return s, nil
	case <-s.exited:
		return nil, &Refusal{Code: cmd.ProcessState.ExitCode(), Stderr: s.stderr.String()}
	case <-time.After(startTimeout):
		s.Kill()
		return nil, fmt.Errorf("serve %s: no listen address after %v; stderr %s", strings.Join(args, " "), startTimeout, s.stderr.String())
	}
}

// readyWait bounds the wait for a listening server to be ready. A lease store opens in the
// background, after the server listens; a server that finds it unusable exits (a Refusal).
const readyWait = 10 * time.Second

// ready waits until s answers /readyz with 200, exits (a *Refusal), or readyWait passes.
func (s *Proc) ready() (*Proc, error) {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyWait)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return nil, &Refusal{Code: s.cmd.ProcessState.ExitCode(), Stderr: s.stderr.String()}
		default:
		}
		if resp, err := c.Get(s.URL + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s, nil
}

// Generator returns the generator id /stats shows, or -1 when it shows none.
func (s *Proc) Generator(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st api.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("GET /stats: %w", err)
	}
	if st.Generator == nil {
		return -1, nil
	}
	return *st.Generator, nil
}

// Stderr returns what the process wrote to stderr so far.
func (s *Proc) Stderr() string { return s.stderr.String() }

// PID returns the process id.
func (s *Proc) PID() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits up to 15 s for the process to exit (then kills it).
func (s *Proc) Stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(15 * time.Second):
		s.Kill()
		return fmt.Errorf("serve %s: still running 15s after SIGTERM", strings.Join(s.Args, " "))
	}
}

// Kill kills the process and waits for it.
func (s *Proc) Kill() {
	s.cmd.Process.Kill()
	<-s.exited
}

// Pull asks the server for n IDs (GET /ids?n=N, one decimal ID a line). A server that cannot issue
// now answers an error status: Pull returns it as an error.
func (s *Proc) Pull(ctx context.Context, n int) ([]int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/ids?n="+strconv.Itoa(n), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &StatusError{Code: resp.StatusCode, Body: strings.TrimSpace(string(body))}
	}
	var ids []int64
	for _, f := range strings.Fields(string(body)) {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("GET /ids: %q is not an ID", f)
		}
		ids = append(ids, id)
	}
	if len(ids) != n {
		return nil, fmt.Errorf("GET /ids?n=%d: %d IDs", n, len(ids))
	}
	return ids, nil
}

// StatusError is an answer with an error status.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("status %d: %s", e.Code, e.Body) }

// Unavailable reports whether err is a 503 answer: the server runs but cannot issue now.
func Unavailable(err error) bool {
	var s *StatusError
	return errors.As(err, &s) && s.Code == http.StatusServiceUnavailable
}
