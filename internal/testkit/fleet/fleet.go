package fleet

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

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
	port  int // the loopback port every process of this slot listens on
	proxy Proxy
	db    string // the URL the servers of this slot get

	mu   sync.Mutex
	proc *process
}

// Start starts cfg.Servers serve processes and waits until each is ready (holds its lease).
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	cfg.Offsets = append([]time.Duration(nil), cfg.Offsets...)
	f := &Fleet{cfg: cfg, start: time.Now()}
	ports, err := slotPorts(cfg.Servers)
	if err != nil {
		return nil, err
	}
	for i := range cfg.Servers {
		s := &slot{index: i, port: ports[i], db: cfg.DB}
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
	// A server listens before it holds its lease (it answers 503 until then): the fleet is
	// started once every server is ready, so that what follows (faults, clients) begins with a
	// healthy fleet.
	for _, s := range f.slots {
		if err := f.waitReady(ctx, s.index, readyTimeout); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// readyTimeout bounds the wait for a new fleet's servers to hold their leases.
const readyTimeout = 30 * time.Second

// waitReady waits until server i answers /readyz with 200, for at most d.
func (f *Fleet) waitReady(ctx context.Context, i int, d time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		addr, _ := f.Current(i)
		if resp, err := c.Get("http://" + addr + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fleet: server %d not ready after %v", i, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
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

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
