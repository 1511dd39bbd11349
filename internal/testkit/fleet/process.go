package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is one serve process.
type process struct {
	id     int
	slot   int
	cmd    *exec.Cmd
	addr   string // host:port, once known
	ready  chan struct{}
	exited chan struct{}
	err    error // the exit status, after exited
	log    string
}

var listenRE = regexp.MustCompile(`listening on http://(\S+)`)

func (f *Fleet) args(s *slot) []string {
	args := []string{"serve", "--host", "127.0.0.1", "--port", strconv.Itoa(s.port)}
	if s.db != "" {
		args = append(args, "--db", s.db, "--group", f.cfg.Group, "--probe", f.cfg.Probe.String())
	} else {
		gen := int64(s.index)
		if s.index < len(f.cfg.Generators) {
			gen = f.cfg.Generators[s.index]
		}
		args = append(args, "--generator", strconv.FormatInt(gen, 10))
		if f.cfg.StateFiles {
			args = append(args, "--state-file", filepath.Join(f.cfg.Dir, fmt.Sprintf("s%d.state", s.index)))
		}
	}
	if off := f.Offset(s.index); off != 0 {
		args = append(args, "--clock-offset", off.String())
	}
	return append(args, f.cfg.ExtraArgs...)
}

// startProcess starts a new process in slot i (after the old one, if any, has exited) and waits
// until it listens.
func (f *Fleet) startProcess(ctx context.Context, i int) error {
	s := f.slots[i]
	f.mu.Lock()
	f.nextProc++
	id := f.nextProc
	f.mu.Unlock()
	p := &process{id: id, slot: i, ready: make(chan struct{}), exited: make(chan struct{}),
		log: filepath.Join(f.cfg.Dir, fmt.Sprintf("s%d-p%d.log", i, id))}
	logFile, err := os.Create(p.log)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	p.cmd = exec.Command(f.cfg.Bin, f.args(s)...)
	p.cmd.Stderr = logFile
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return fmt.Errorf("fleet: %w", err)
	}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("fleet: start server %d: %w", i, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := listenRE.FindStringSubmatch(line); m != nil && p.addr == "" {
				p.addr = m[1]
				close(p.ready)
			}
		}
		io.Copy(io.Discard, out)
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	select {
	case <-p.ready:
		f.cfg.Logf("%6.1fs server %d: process %d (pid %d) listens on %s", f.Since().Seconds(), i, id, p.cmd.Process.Pid, p.addr)
		return nil
	case <-p.exited:
		if log := tail(p.log); strings.Contains(log, "address already in use") {
			return fmt.Errorf("fleet: server %d process %d: %w\n%s", i, id, errPortBusy, log)
		}
		return fmt.Errorf("fleet: server %d process %d exited before listening: %v\n%s", i, id, p.err, tail(p.log))
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		return fmt.Errorf("fleet: server %d process %d did not listen within 30s\n%s", i, id, tail(p.log))
	case <-ctx.Done():
		p.cmd.Process.Kill()
		return ctx.Err()
	}
}

func (f *Fleet) current(i int) *process {
	s := f.slots[i]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

// Signal sends sig to slot i's process.
func (f *Fleet) Signal(i int, sig syscall.Signal) error {
	p := f.current(i)
	if p == nil {
		return fmt.Errorf("fleet: server %d has no process", i)
	}
	f.cfg.Logf("%6.1fs server %d: %s to process %d", f.Since().Seconds(), i, signalName(sig), p.id)
	return p.cmd.Process.Signal(sig)
}

// Wait waits up to d for slot i's process to exit and returns its exit status.
func (f *Fleet) Wait(i int, d time.Duration) error {
	p := f.current(i)
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		return fmt.Errorf("fleet: server %d process %d still running after %v", i, p.id, d)
	}
}

func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSTOP:
		return "SIGSTOP"
	case syscall.SIGCONT:
		return "SIGCONT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// tail returns the last lines of a log file.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}
