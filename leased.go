package snowfall

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// DefaultProbe is how often a holder renews its lease unless its manifest or LeaseSettings say
// otherwise.
const DefaultProbe = 5 * time.Second

// manifestTimeout bounds NewLeased's read of the manifest, before the lease settings are known.
const manifestTimeout = 2 * DefaultProbe

// LeaseSettings configure a Leased generator. The zero value means: the manifest's layout (the
// default layout when a new manifest is created), the manifest's probe interval (DefaultProbe for a
// new one), a lease of two probe intervals, a margin of a tenth of the lease, the system clock and
// no logging.
type LeaseSettings struct {
	// Layout the caller expects; the zero Layout accepts the manifest's.
	Layout Layout
	// Probe is the heartbeat interval; zero means the manifest's.
	Probe time.Duration
	// Lease is how long a lease lasts after each renewal; zero means 2 × Probe. It must exceed Probe.
	Lease time.Duration
	// Margin is how long before the lease could expire the generator stops issuing; zero means
	// Lease/10. It must be below Lease - Probe.
	Margin time.Duration
	// Clock for the generator and the fencing measures; nil means SystemClock().
	Clock Clock
	// MaxBackwards is passed to each generator (see Settings).
	MaxBackwards time.Duration
	// After is a floor for every tenure, on top of the floor the lease gives (the previous holder's
	// mark): each generator issues only above the later of the two. A fleet that replaces another
	// generator with the same layout passes the old generator's largest ID or last time through
	// ParseFloor. The zero time sets none; a floor further ahead of the clock than MaxBackwards is
	// refused (see CheckFloor).
	After time.Time
	// Holder describes this instance in the manifest; the zero value means this host and process.
	Holder Holder
	// Logger receives lease events; nil means none.
	Logger *slog.Logger
	// OnLost, if set, is called (from the keeper's goroutine) with each loss, like Lost.
	OnLost func(error)
	// Background makes NewLeased return once the manifest is read, without a claim: the keeper
	// claims an id in the background, retrying as it does after a loss, while Lease reports
	// LeaseAcquiring with the last claim error and the generator refuses (ErrFenced wrapping
	// ErrLeaseLost). A server can then start, answer its health checks and wait for conditions
	// that pass by themselves (every id held, marks ahead of this clock, a store that is down).
	Background bool
	// Start is the generator id where a claim's search for a free id begins (modulo the pool
	// size): the free ids whose marks are not ahead of this clock are preferred from Start
	// upwards, then from 0. Zero means the lowest. Deployments that cannot share a store (each
	// host its own embedded database) can start from a value derived from the host, so that two
	// of them rarely take the same id; within one store, claims never share an id whatever it is.
	Start int64
}

// LeaseState is the state of a Leased generator's lease; its text is what the server shows.
type LeaseState string

// The states of a lease.
const (
	LeaseHeld   LeaseState = "held"   // the generator may issue
	LeaseFenced LeaseState = "fenced" // renewals are failing: the generator refuses until one succeeds
	LeaseLost   LeaseState = "lost"   // the tenure was lost: the keeper is claiming a new id
	LeaseClosed LeaseState = "closed" // Close was called
	// LeaseAcquiring: no id was held yet; the keeper is claiming one (LeaseSettings.Background).
	LeaseAcquiring LeaseState = "acquiring"
)

// LeaseStates returns every LeaseState, in the order above.
func LeaseStates() []LeaseState {
	return []LeaseState{LeaseHeld, LeaseFenced, LeaseLost, LeaseClosed, LeaseAcquiring}
}

// LeaseStatus is a snapshot of a Leased generator's lease.
type LeaseStatus struct {
	GeneratorID int64      // the generator id held, or -1
	State       LeaseState // held, fenced, lost, closed or acquiring
	Expires     time.Time  // when the lease ends at the earliest, by the local clock
	Mark        time.Time  // the high-water mark recorded last
	Renewals    uint64     // successful renewals
	Failures    uint64     // failed renewal or claim attempts
	Losses      uint64     // tenures lost to another holder or to expiry
	LastRenewal time.Time  // start of the last successful renewal, by the local clock
	LastError   error      // the last renewal or claim error, if any
}

// Leased is a generator whose generator id, epoch and layout come from a lease on a manifest. It
// implements Source and is safe for concurrent use.
type Leased struct {
	a       Assigner
	man     Manifest
	probe   time.Duration
	lease   time.Duration
	margin  time.Duration
	clk     clockReader // the clock of the generators and of the fencing measures
	maxBack time.Duration
	after   time.Time // LeaseSettings.After
	holder  Holder
	start   int64 // LeaseSettings.Start
	log     *slog.Logger
	onLost  func(error)

	begun     Stamp  // start of the last successful claim or renewal; the keeper's goroutine's own
	claimKind string // what the last claim failures were (see noteClaim); the keeper's own

	cur    atomic.Pointer[tenure]
	issued atomic.Uint64 // IDs issued by earlier tenures
	lost   chan error
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	st     LeaseStatus
	closed bool
	cerr   error
}

// tenure is one claim of a generator id.
type tenure struct {
	g     *Generator
	id    int64
	token string
	prev  time.Time // the previous tenure's mark: the floor
	mark  time.Time // the last mark recorded: the ceiling
}

// NewLeased claims a generator id from a and returns a generator on it, keeping the lease in a
// background goroutine until Close. Errors: ErrMismatch when s.Layout differs from the manifest's,
// ErrNoFreeGenerator when every id is held, ErrInvalidLayout for a layout with more than MaxPoolSize
// ids (or an epoch after the clock's time), an error for a lease not longer than the probe interval
// plus the margin, ErrClockBackwards for an After further ahead of the clock than MaxBackwards, and
// the assigner's errors. ctx bounds the manifest's read and the first claim only; with s.Background
// the claim is not waited for (see LeaseSettings.Background), and ErrNoFreeGenerator and the
// claim's errors are not returned. The result is safe for concurrent use.
func NewLeased(ctx context.Context, a Assigner, s LeaseSettings) (*Leased, error) {
	mctx, cancel := context.WithTimeout(ctx, manifestTimeout)
	m, err := ReadManifest(mctx, a, Manifest{Layout: s.Layout, Probe: s.Probe})
	cancel()
	if err != nil {
		return nil, err
	}
	l := &Leased{a: a, man: m, probe: m.Probe, lease: s.Lease, margin: s.Margin,
		maxBack: s.MaxBackwards, after: s.After, holder: s.Holder, log: s.Logger, onLost: s.OnLost,
		lost: make(chan error, 8), done: make(chan struct{})}
	if l.lease == 0 {
		l.lease = 2 * l.probe
	}
	if l.margin == 0 {
		l.margin = l.lease / 10
	}
	if s.Start < 0 {
		return nil, fmt.Errorf("snowfall: lease settings: start %d is negative; want a generator id in [0, %d)", s.Start, PoolSize(m.Layout))
	}
	l.start = s.Start
	if l.lease <= l.probe || l.margin < 0 || l.margin >= l.lease-l.probe {
		return nil, fmt.Errorf("snowfall: lease settings: lease %v must exceed probe %v by more than margin %v", l.lease, l.probe, l.margin)
	}
	clock := s.Clock
	if clock == nil {
		clock = SystemClock()
	}
	l.clk = newClockReader(clock)
	if !s.After.IsZero() {
		if err := CheckFloor(m.Layout, s.After, clock.Now(), s.MaxBackwards); err != nil {
			return nil, fmt.Errorf("snowfall: LeaseSettings.After: %w", err)
		}
	}
	if l.holder == (Holder{}) {
		l.holder.Host, _ = os.Hostname()
		l.holder.PID = int64(os.Getpid())
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.st = LeaseStatus{GeneratorID: -1, State: LeaseLost}
	if s.Background {
		// Until the keeper's first claim, a generator that refuses stands in for a tenure.
		g, err := New(Settings{Layout: m.Layout, Node: NodeOf(m.Layout, 0), Clock: clock})
		if err != nil {
			return nil, err
		}
		g.Revoke(fmt.Errorf("%w: no generator id acquired yet", ErrLeaseLost))
		l.cur.Store(&tenure{g: g, id: -1})
		l.st.State = LeaseAcquiring
	} else if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.keep(kctx)
	return l, nil
}

// NextContext returns a new ID from the current tenure's generator. While the lease is in doubt or
// lost it returns a FenceError (ErrFenced) wrapping ErrLeaseLost; after Close, one wrapping ErrClosed.
func (l *Leased) NextContext(ctx context.Context) (ID, error) {
	t := l.cur.Load()
	id, err := t.g.NextContext(ctx)
	if err != nil && errors.Is(err, ErrFenced) {
		if t2 := l.cur.Load(); t2 != t { // a new tenure was swapped in meanwhile
			return t2.g.NextContext(ctx)
		}
	}
	return id, err
}

// Next is NextContext without a context.
func (l *Leased) Next() (ID, error) { return l.NextContext(context.Background()) }

// Fill fills ids like Generator.Fill, from the current tenure's generator.
func (l *Leased) Fill(ctx context.Context, ids []ID) (int, error) {
	t := l.cur.Load()
	n, err := t.g.Fill(ctx, ids)
	if err != nil && errors.Is(err, ErrFenced) {
		if t2 := l.cur.Load(); t2 != t {
			m, err := t2.g.Fill(ctx, ids[n:])
			return n + m, err
		}
	}
	return n, err
}

// Stats returns the current generator's statistics, with Issued counting every tenure.
func (l *Leased) Stats() Stats {
	t := l.cur.Load()
	s := t.g.Stats()
	s.Issued += l.issued.Load()
	return s
}

// Layout returns the manifest's layout.
func (l *Leased) Layout() Layout { return l.man.Layout }

// Lease returns a snapshot of the lease.
func (l *Leased) Lease() LeaseStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	if st.State == LeaseHeld {
		if err := l.cur.Load().g.Fenced(); err != nil {
			st.State = LeaseFenced
		}
	}
	return st
}

// Lost returns a channel that receives an error (wrapping ErrLeaseLost) each time a tenure is lost
// to another holder; the keeper then claims a new id. It holds up to 8 reports and is closed by Close.
func (l *Leased) Lost() <-chan error { return l.lost }

// Done returns a channel closed when the keeper's goroutine has stopped (after Close).
func (l *Leased) Done() <-chan struct{} { return l.done }

// Close stops the heartbeat, stops issuing, records the last timestamp issued and releases the id.
// It is idempotent, waits for the keeper, and returns the release's error (the lease then simply
// expires).
func (l *Leased) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return l.cerr
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	<-l.done
	t := l.cur.Load()
	held := !t.g.permit.Load().closed
	// Revoke seals the generator: no call in flight can issue after it, so the last tick it
	// reports is final, whatever the clock or the scheduler does from here.
	mark := t.g.Revoke(ErrClosed)
	var err error
	if held {
		if simbug.CloseRace {
			// Issue 10, defect 1, put back: guess with the clock what calls in flight may issue.
			if now := l.clk.stamp().Time(); now.After(mark) {
				mark = now
			}
		}
		if mark.Before(t.prev) {
			mark = t.prev // nothing issued: keep the previous tenure's mark
		}
		if mark.After(t.mark) {
			mark = t.mark
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.callTimeout())
		err = l.a.Release(ctx, t.id, t.token, mark)
		cancel()
		if err != nil {
			err = fmt.Errorf("snowfall: release generator %d: %w", t.id, err)
		}
	}
	l.mu.Lock()
	l.st.State, l.cerr = LeaseClosed, err
	l.mu.Unlock()
	close(l.lost)
	return err
}

// noteClaim logs a failed claim (err) when its kind differs from the failures before it, so that
// a keeper retrying for a long while (every id held, marks ahead of the clock, a store down)
// writes a line per change, not per attempt; Lease counts them all. A nil err (a claim that
// succeeded) starts afresh. Only the keeper's goroutine calls it.
func (l *Leased) noteClaim(err error) {
	if err == nil {
		l.claimKind = ""
		return
	}
	kind := "other"
	switch {
	case errors.Is(err, ErrClockBackwards):
		kind = "marks ahead"
	case errors.Is(err, ErrNoFreeGenerator):
		kind = "no free id"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	}
	if kind == l.claimKind {
		l.log.Debug("snowfall: claim failed", "err", err)
		return
	}
	l.claimKind = kind
	l.log.Warn("snowfall: claim failed; retrying (logged again only when the cause changes)", "err", err)
}

var _ Source = (*Leased)(nil)
