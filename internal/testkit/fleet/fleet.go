package fleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proxy is what the fleet needs of a cuttable TCP proxy such as internal/testkit/faultproxy: the servers of
// a slot reach the database through it, and a fault cuts it off.
type Proxy interface {
	Addr() string
	Cut()
	Restore()
	Close() error
}

// proxies are the proxies of one slot, one per database endpoint, cut and restored together.
type proxies []Proxy

func (ps proxies) Addr() string {
	addrs := make([]string, len(ps))
	for i, p := range ps {
		addrs[i] = p.Addr()
	}
	return strings.Join(addrs, ",")
}

func (ps proxies) Cut() {
	for _, p := range ps {
		p.Cut()
	}
}

func (ps proxies) Restore() {
	for _, p := range ps {
		p.Restore()
	}
}

func (ps proxies) Close() error {
	var first error
	for _, p := range ps {
		first = cmpErr(first, p.Close())
	}
	return first
}

// Config describes a fleet.
type Config struct {
	// Bin is the snowfall binary.
	Bin string
	// DB is the database URL of the leases; empty runs static generators (slot i serves generator
	// i).
	DB string
	// Generators are the static generator ids of the slots, by index; missing means the index.
	Generators []int64
	// StateFiles gives static generators a --state-file each.
	StateFiles bool
	// Group is the lease group, unique per run.
	Group string
	// Servers is the number of slots, each running one serve process at a time.
	Servers int
	// Probe is the lease probe interval passed as --probe.
	Probe time.Duration
	// Offsets are the clock offsets (--clock-offset) of the slots, by index; missing means none.
	Offsets []time.Duration
	// NewProxy puts a proxy between the servers of one slot and the database; nil means none.
	NewProxy func(target string) (Proxy, error)
	// ExtraArgs are added to every serve command line.
	ExtraArgs []string
	// Dir receives a log file per process and the state files.
	Dir string
	// Logf reports progress; nil is silent.
	Logf func(format string, args ...any)
}

// Fleet runs the serve processes of a Config.
type Fleet struct {
	cfg   Config
	start time.Time
	slots []*slot

	mu       sync.Mutex
	nextProc int
}

type slot struct {
	index int
	proxy Proxy
	db    string // the URL the servers of this slot get

	mu   sync.Mutex
	proc *process
}

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

// Start starts cfg.Servers serve processes and waits until each listens.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.Offsets = append([]time.Duration(nil), cfg.Offsets...)
	f := &Fleet{cfg: cfg, start: time.Now()}
	for i := range cfg.Servers {
		s := &slot{index: i, db: cfg.DB}
		if cfg.DB != "" && cfg.NewProxy != nil {
			u, err := url.Parse(cfg.DB)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("fleet: database URL: %w", err)
			}
			// One proxy per endpoint of a URL with several (etcd://h1:p1,h2:p2,…/prefix).
			var ps proxies
			var addrs []string
			for _, h := range strings.Split(u.Host, ",") {
				p, err := cfg.NewProxy(h)
				if err != nil {
					ps.Close()
					f.Close()
					return nil, fmt.Errorf("fleet: proxy: %w", err)
				}
				ps = append(ps, p)
				addrs = append(addrs, p.Addr())
			}
			s.proxy = ps
			u.Host = strings.Join(addrs, ",")
			s.db = u.String()
		}
		f.slots = append(f.slots, s)
	}
	for _, s := range f.slots {
		if err := f.Restart(ctx, s.index); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Since returns the time since the fleet started.
func (f *Fleet) Since() time.Duration { return time.Since(f.start) }

// StartTime returns when the fleet started.
func (f *Fleet) StartTime() time.Time { return f.start }

// Current returns the address and process id of slot i's running process, or "" while it has none
// that listens.
func (f *Fleet) Current(i int) (addr string, proc int) {
	s := f.slots[i]
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p == nil {
		return "", 0
	}
	select {
	case <-p.ready:
	default:
		return "", 0
	}
	select {
	case <-p.exited:
		return "", 0
	default:
	}
	return p.addr, p.id
}

var listenRE = regexp.MustCompile(`listening on http://(\S+)`)

func (f *Fleet) args(s *slot) []string {
	args := []string{"serve", "--host", "127.0.0.1", "--port", "0"}
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

// Offset returns the clock offset of slot i's processes.
func (f *Fleet) Offset(i int) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i < len(f.cfg.Offsets) {
		return f.cfg.Offsets[i]
	}
	return 0
}

// SetOffset sets the clock offset of the processes slot i starts from now on: a host whose clock
// was stepped.
func (f *Fleet) SetOffset(i int, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.cfg.Offsets) <= i {
		f.cfg.Offsets = append(f.cfg.Offsets, 0)
	}
	f.cfg.Offsets[i] = d
}

// Restart starts a new process in slot i (after the old one, if any, has exited) and waits until it
// listens.
func (f *Fleet) Restart(ctx context.Context, i int) error {
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

// Cut cuts slot i off the database.
func (f *Fleet) Cut(i int) error {
	s := f.slots[i]
	if s.proxy == nil {
		return errors.New("fleet: no proxy to cut")
	}
	f.cfg.Logf("%6.1fs server %d: database cut off", f.Since().Seconds(), i)
	s.proxy.Cut()
	return nil
}

// Restore reconnects slot i to the database.
func (f *Fleet) Restore(i int) {
	if s := f.slots[i]; s.proxy != nil {
		f.cfg.Logf("%6.1fs server %d: database restored", f.Since().Seconds(), i)
		s.proxy.Restore()
	}
}

// Close continues, terminates and waits for every process (killing those that take over 10 s) and
// closes the proxies. It returns the first unexpected exit status of a process it terminated.
func (f *Fleet) Close() error {
	var first error
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, s := range f.slots {
		if s.proxy != nil {
			s.proxy.Restore()
		}
		p := f.current(s.index)
		if p == nil {
			continue
		}
		wg.Go(func() {
			select {
			case <-p.exited:
				return
			default:
			}
			p.cmd.Process.Signal(syscall.SIGCONT)
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
				if p.err != nil {
					mu.Lock()
					first = cmpErr(first, fmt.Errorf("fleet: server %d process %d after SIGTERM: %w\n%s", s.index, p.id, p.err, tail(p.log)))
					mu.Unlock()
				}
			case <-time.After(10 * time.Second):
				p.cmd.Process.Kill()
				<-p.exited
				mu.Lock()
				first = cmpErr(first, fmt.Errorf("fleet: server %d process %d ignored SIGTERM for 10s", s.index, p.id))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, s := range f.slots {
		if s.proxy != nil {
			s.proxy.Close()
		}
	}
	return first
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

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
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
