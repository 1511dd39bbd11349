package snowfall

// Generator-id leases: the Assigner contract, the manifest and the Leased keeper. The safety
// argument is in the package documentation (doc.go, "Leases").

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// manifestTimeout bounds NewLeased's read of the manifest, before the lease settings are known.
const manifestTimeout = 2 * DefaultProbe

// Defaults of LeaseSettings.
const (
	DefaultProbe = 5 * time.Second // how often a holder renews its lease
	MaxPoolSize  = 1 << 16         // the most generator ids a manifest can hold
)

// Property keys a manifest stores.
const (
	PropEpochMs = "epoch_ms"
	PropLayout  = "layout"
	PropProbeMs = "probe_ms"
)

// Assigner is a store of generator-id leases, one manifest: properties and one row per generator id.
// It judges lease expiry by its own clock. Implementations: memassign (one process) and sqlassign
// (a database). All methods are safe for concurrent use.
type Assigner interface {
	// Properties returns the manifest's properties after storing each of defaults whose key is
	// absent, so that concurrent first users agree on one value.
	Properties(ctx context.Context, defaults map[string]string) (map[string]string, error)
	// Claim atomically takes one id in [0, r.Size) whose lease expired or was released: the
	// lowest whose mark is not after r.Now or, when every free id's mark is after it, the one
	// with the earliest mark. It sets the token, the holder, the expiry (the store's now +
	// r.Lease) and mark = max(r.Now, the previous mark) + r.Ahead, and returns the previous mark.
	// When every id is held it returns an error wrapping ErrNoFreeGenerator that says how many
	// ids there are.
	Claim(ctx context.Context, r ClaimRequest) (Claim, error)
	// Renew sets the expiry of id to the store's now + lease and its mark to the larger of the
	// stored mark and mark, atomically (marks only rise), if the row still holds token;
	// otherwise it returns an error wrapping ErrLeaseLost.
	Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error
	// Release records mark (which may be below the stored one: the holder has sealed its
	// generator and knows the last tick it issued), clears the token and frees id at once, if
	// the row still holds token (else ErrLeaseLost).
	Release(ctx context.Context, id int64, token string, mark time.Time) error
	// Leases lists the ids whose leases have not expired.
	Leases(ctx context.Context) ([]LeaseRecord, error)
}

// ClaimRequest is what Assigner.Claim needs.
type ClaimRequest struct {
	Size   int64         // ids are 0 to Size-1
	Token  string        // the new tenure's token
	Lease  time.Duration // how long the lease lasts after the store's now
	Now    time.Time     // the claimer's clock, read before the claim began
	Ahead  time.Duration // how far above max(Now, previous mark) to record the mark
	Holder Holder
}

// Claim is a successful claim.
type Claim struct {
	ID   int64
	Prev time.Time // the previous tenure's mark: the new generator's floor (zero if none)
	Mark time.Time // the mark recorded: the new generator's ceiling
}

// Holder describes a lease holder to operators.
type Holder struct {
	Host string
	PID  int64
}

// LeaseRecord is one row of Assigner.Leases.
type LeaseRecord struct {
	ID      int64
	Holder  Holder
	Claimed time.Time // when the tenure began, by the store's clock
	Renewed time.Time // last heartbeat, by the store's clock
	Expires time.Time // by the store's clock
	Mark    time.Time
}

// Manifest is the configuration a manifest records.
type Manifest struct {
	Layout Layout
	Probe  time.Duration
}

// PoolSize returns how many generator ids a manifest with layout l holds: the values of its gen field,
// or of its dc and worker fields together.
func PoolSize(l Layout) int64 {
	if l.Has(FieldGenerator) {
		return l.Max(FieldGenerator) + 1
	}
	return 1 << (l.Bits(FieldDC) + l.Bits(FieldWorker))
}

// NodeOf returns the node values of generator id n under l: the gen field, or dc and worker with the
// dc in the high bits.
func NodeOf(l Layout, n int64) Node {
	if l.Has(FieldGenerator) {
		return Node{Generator: n}
	}
	wb := l.Bits(FieldWorker)
	return Node{DC: n >> wb, Worker: n & (1<<wb - 1)}
}

// ReadManifest returns a's manifest, first recording want's layout (the default when zero) and
// probe (DefaultProbe when zero) if a has none. Errors: ErrMismatch naming both values when want's
// layout is not zero and differs from the recorded one; ErrInvalidLayout for a recorded layout that
// does not parse or whose epoch is in the future.
func ReadManifest(ctx context.Context, a Assigner, want Manifest) (Manifest, error) {
	l := want.Layout.orDefault()
	probe := want.Probe
	if probe <= 0 {
		probe = DefaultProbe
	}
	if err := checkPool(l); err != nil {
		return Manifest{}, err
	}
	props, err := a.Properties(ctx, map[string]string{
		PropEpochMs: strconv.FormatInt(l.EpochMs(), 10),
		PropLayout:  l.Spec(),
		PropProbeMs: strconv.FormatInt(probe.Milliseconds(), 10),
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("snowfall: read manifest: %w", err)
	}
	ms, err := strconv.ParseInt(props[PropEpochMs], 10, 64)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest epoch_ms %q is not a number", ErrInvalidLayout, props[PropEpochMs])
	}
	var got Layout
	if want.Layout.IsZero() {
		if got, err = ParseLayout(props[PropLayout]); err != nil {
			return Manifest{}, fmt.Errorf("snowfall: manifest layout %q: %w", props[PropLayout], err)
		}
		if got, err = got.WithEpoch(time.UnixMilli(ms)); err != nil {
			return Manifest{}, fmt.Errorf("snowfall: manifest epoch: %w", err)
		}
	} else {
		if spec := props[PropLayout]; spec != l.Spec() {
			return Manifest{}, fmt.Errorf("%w: layout %s, but the manifest records %s", ErrMismatch, l.Spec(), spec)
		}
		if ms != l.EpochMs() {
			return Manifest{}, fmt.Errorf("%w: epoch %s (%d ms), but the manifest records %s (%d ms)", ErrMismatch,
				l.Epoch().Format(time.RFC3339Nano), l.EpochMs(), time.UnixMilli(ms).UTC().Format(time.RFC3339Nano), ms)
		}
		got = l // the same layout, with the caller's preset name
	}
	m := Manifest{Layout: got, Probe: probe}
	if p, err := strconv.ParseInt(props[PropProbeMs], 10, 64); err == nil && p > 0 && want.Probe <= 0 {
		m.Probe = time.Duration(p) * time.Millisecond
	}
	return m, checkPool(got)
}

func checkPool(l Layout) error {
	if n := PoolSize(l); n > MaxPoolSize {
		return fmt.Errorf("%w: layout %s has %d generator ids, a manifest holds at most %d", ErrInvalidLayout, l.Spec(), n, MaxPoolSize)
	}
	return nil
}

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
	// Holder describes this instance in the manifest; the zero value means this host and process.
	Holder Holder
	// Logger receives lease events; nil means none.
	Logger *slog.Logger
	// OnLost, if set, is called (from the keeper's goroutine) with each loss, like Lost.
	OnLost func(error)
}

// LeaseStatus is a snapshot of a Leased generator's lease.
type LeaseStatus struct {
	Generator   int64     // the generator id held, or -1
	State       string    // "held", "fenced" (renewals failing), "lost" (re-acquiring) or "closed"
	Expires     time.Time // when the lease ends at the earliest, by the local clock
	Mark        time.Time // the high-water mark recorded last
	Renewals    uint64    // successful renewals
	Failures    uint64    // failed renewal or claim attempts
	Losses      uint64    // tenures lost to another holder or to expiry
	LastRenewal time.Time // start of the last successful renewal, by the local clock
	LastError   error     // the last renewal or claim error, if any
}

// Leased is a generator whose generator id, epoch and layout come from a lease on a manifest. It
// implements Source and is safe for concurrent use.
type Leased struct {
	a       Assigner
	man     Manifest
	probe   time.Duration
	lease   time.Duration
	margin  time.Duration
	clock   Clock
	sys     *sysClock
	maxBack time.Duration
	holder  Holder
	log     *slog.Logger
	onLost  func(error)

	begun Stamp // start of the last successful claim or renewal; the keeper's goroutine's own

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
// ids, an error for a lease not longer than the probe interval plus the margin, and the assigner's
// errors. ctx bounds the first claim only. The result is safe for concurrent use.
func NewLeased(ctx context.Context, a Assigner, s LeaseSettings) (*Leased, error) {
	mctx, cancel := context.WithTimeout(ctx, manifestTimeout)
	m, err := ReadManifest(mctx, a, Manifest{Layout: s.Layout, Probe: s.Probe})
	cancel()
	if err != nil {
		return nil, err
	}
	l := &Leased{a: a, man: m, probe: m.Probe, lease: s.Lease, margin: s.Margin, clock: s.Clock,
		maxBack: s.MaxBackwards, holder: s.Holder, log: s.Logger, onLost: s.OnLost,
		lost: make(chan error, 8), done: make(chan struct{})}
	if l.lease == 0 {
		l.lease = 2 * l.probe
	}
	if l.margin == 0 {
		l.margin = l.lease / 10
	}
	if l.lease <= l.probe || l.margin < 0 || l.margin >= l.lease-l.probe {
		return nil, fmt.Errorf("snowfall: lease settings: lease %v must exceed probe %v by more than margin %v", l.lease, l.probe, l.margin)
	}
	if l.clock == nil {
		l.clock = SystemClock()
	}
	l.sys, _ = l.clock.(*sysClock)
	if l.holder == (Holder{}) {
		l.holder.Host, _ = os.Hostname()
		l.holder.PID = int64(os.Getpid())
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.st = LeaseStatus{Generator: -1, State: "lost"}
	if err := l.acquire(ctx); err != nil {
		return nil, err
	}
	kctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.keep(kctx)
	return l, nil
}

// callTimeout bounds each renewal and release: a store that stopped answering must not hold the
// keeper (or Close) for longer than the permit it could still renew.
func (l *Leased) callTimeout() time.Duration { return l.lease - l.margin }

// claimTimeout bounds each claim. A claim decides nothing about safety, only when the holder gets
// an id, but the first one on a new manifest also adds a row per generator id (up to MaxPoolSize),
// so it gets at least minClaimTimeout.
func (l *Leased) claimTimeout() time.Duration { return max(l.callTimeout(), minClaimTimeout) }

// minClaimTimeout is the shortest deadline a claim gets.
const minClaimTimeout = 10 * time.Second

// stamp reads the clock the generators use.
func (l *Leased) stamp() Stamp {
	if l.sys != nil {
		w, m := l.sys.read()
		return Stamp{w, m}
	}
	t := l.clock.Now()
	return Stamp{t.UnixNano(), int64(t.Sub(monoBase))}
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// acquire claims an id, builds its generator and swaps it in.
func (l *Leased) acquire(ctx context.Context) error {
	start := l.stamp()
	token := newToken()
	cctx, cancel := context.WithTimeout(ctx, l.claimTimeout())
	c, err := l.a.Claim(cctx, ClaimRequest{Size: PoolSize(l.man.Layout), Token: token, Lease: l.lease,
		Now: start.Time(), Ahead: l.lease, Holder: l.holder})
	cancel()
	if err != nil {
		l.fail(err)
		return err
	}
	g, err := New(Settings{Layout: l.man.Layout, Node: NodeOf(l.man.Layout, c.ID), Clock: l.clock,
		MaxBackwards: l.maxBack, After: c.Prev})
	if err != nil {
		l.giveBack(c.ID, token, c.Prev)
		l.fail(err)
		return err
	}
	// Claims prefer ids whose mark is not ahead of this clock, so a floor further ahead than the
	// generator waits out (its own check, Ready) means no better id was free: rather than sit on
	// an id it cannot issue from, the holder gives it back, its mark as it was, and reports it.
	if err := g.Ready(); errors.Is(err, ErrClockBackwards) && !simbug.FarMarkClaim {
		err = fmt.Errorf("snowfall: generator %d, the best free id, has a high-water mark %v ahead of this clock: %w",
			c.ID, c.Prev.Sub(start.Time()).Round(time.Millisecond), err)
		l.giveBack(c.ID, token, c.Prev)
		l.fail(err)
		return err
	}
	g.Grant(Permit{Until: c.Mark, Start: start, Valid: l.lease - l.margin})
	if old := l.cur.Swap(&tenure{g: g, id: c.ID, token: token, prev: c.Prev, mark: c.Mark}); old != nil {
		l.issued.Add(old.g.issuedNow())
	}
	l.begun = start
	l.mu.Lock()
	l.st.Generator, l.st.State, l.st.Mark = c.ID, "held", c.Mark
	l.st.Expires = start.Time().Add(l.lease)
	l.st.LastRenewal = start.Time()
	l.mu.Unlock()
	var floor any = c.Prev
	if c.Prev.IsZero() {
		floor = "none (first holder)"
	}
	l.log.Info("snowfall: lease acquired", "generator", c.ID, "floor", floor, "ceiling", c.Mark)
	return nil
}

// giveBack releases an id claimed but never issued from, with mark, the previous tenure's. A
// failure only leaves the lease to expire.
func (l *Leased) giveBack(id int64, token string, mark time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), l.callTimeout())
	defer cancel()
	if err := l.a.Release(ctx, id, token, mark); err != nil {
		l.log.Warn("snowfall: release of an unused claim failed; its lease will expire", "generator", id, "err", err)
	}
}

func (l *Leased) fail(err error) {
	l.mu.Lock()
	l.st.Failures++
	l.st.LastError = err
	l.mu.Unlock()
}

// renew records the next ceiling and, when that succeeds, grants it.
func (l *Leased) renew(ctx context.Context, t *tenure) error {
	start := l.stamp()
	mark := start.Time().Add(l.lease)
	if mark.Before(t.mark) {
		mark = t.mark // never lower the mark: IDs up to it may have been issued
	}
	rctx, cancel := context.WithTimeout(ctx, l.lease-l.margin)
	err := l.a.Renew(rctx, t.id, t.token, l.lease, mark)
	cancel()
	if err != nil {
		return err
	}
	t.mark = mark // only the keeper's goroutine touches a current tenure's mark
	l.begun = start
	t.g.Grant(Permit{Until: mark, Start: start, Valid: l.lease - l.margin})
	l.mu.Lock()
	l.st.State, l.st.Mark, l.st.Renewals = "held", mark, l.st.Renewals+1
	l.st.Expires = start.Time().Add(l.lease)
	l.st.LastRenewal = start.Time()
	l.mu.Unlock()
	return nil
}

// next returns how long to wait for the next renewal: a probe interval after the last one began,
// so that a slow claim or renewal does not push the next one past the permit's end.
func (l *Leased) next() time.Duration {
	return max(l.probe-l.begun.Since(l.stamp()), 0)
}

// keep renews the lease every probe interval until ctx ends, and re-acquires after a loss.
func (l *Leased) keep(ctx context.Context) {
	defer close(l.done)
	wait := l.next()
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		t := l.cur.Load()
		if t == nil || t.g.permit.Load().closed {
			// Lost earlier: claim a new id.
			if err := l.acquire(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.log.Warn("snowfall: claim failed", "err", err)
				wait = jitter(l.probe / 2)
				continue
			}
			wait = l.next()
			continue
		}
		err := l.renew(ctx, t)
		switch {
		case err == nil:
			wait = l.next()
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLeaseLost):
			t.g.Revoke(err)
			l.mu.Lock()
			l.st.State, l.st.Losses, l.st.LastError = "lost", l.st.Losses+1, err
			l.mu.Unlock()
			l.log.Warn("snowfall: lease lost", "generator", t.id, "err", err)
			l.report(fmt.Errorf("snowfall: generator %d: %w", t.id, err))
			wait = 0
		default:
			l.fail(err)
			l.mu.Lock()
			l.st.State = "fenced"
			l.mu.Unlock()
			l.log.Warn("snowfall: renewal failed", "generator", t.id, "err", err)
			// Retry sooner; the permit lapses by itself if this lasts.
			wait = jitter(l.probe / 4)
		}
	}
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + mrand.N(d/2+1)
}

// report sends a loss to Lost and OnLost; Lost drops it when its buffer is full.
func (l *Leased) report(err error) {
	select {
	case l.lost <- err:
	default:
	}
	if l.onLost != nil {
		l.onLost(err)
	}
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

// Generator returns the generator of the current tenure; it changes after a loss.
func (l *Leased) Generator() *Generator { return l.cur.Load().g }

// Lease returns a snapshot of the lease.
func (l *Leased) Lease() LeaseStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	if st.State == "held" {
		if err := l.cur.Load().g.Fenced(); err != nil {
			st.State = "fenced"
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
			if now := l.stamp().Time(); now.After(mark) {
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
	l.st.State, l.cerr = "closed", err
	l.mu.Unlock()
	close(l.lost)
	return err
}

var _ Source = (*Leased)(nil)
