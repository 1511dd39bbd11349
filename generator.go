package snowfall

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// DefaultMaxBackwards is how long a generator waits, by default, for a clock that went backwards.
const DefaultMaxBackwards = time.Second

// Settings configure a Generator. The zero value means: the default layout, generator 0, the system
// clock, and waiting up to DefaultMaxBackwards for a clock that went backwards.
type Settings struct {
	// Layout of the IDs; the zero Layout means DefaultLayout().
	Layout Layout
	// Node values; each must fit its field of Layout (an error, never masked).
	Node Node
	// Clock to read; nil means SystemClock().
	Clock Clock
	// MaxBackwards bounds how long Next waits for a clock that went backwards before it returns a
	// ClockBackwardsError. Zero means DefaultMaxBackwards; negative means never wait.
	MaxBackwards time.Duration
	// After is a high-water mark: the generator never issues an ID whose time field is at or below
	// the tick holding After. The zero time sets no mark. Restarts and lease takeovers use it.
	After time.Time
}

// Permit bounds what a generator may issue; the lease code grants one after every renewal.
type Permit struct {
	// Until is the last instant whose tick the generator may issue; IDs with a later time field
	// are refused. The zero time sets no ceiling.
	Until time.Time
	// Start is a Stamp taken before the renewal that granted this permit began.
	Start Stamp
	// Valid is how long after Start the permit lasts, measured with Stamp.Since; zero means no limit.
	Valid time.Duration
	// Cause is the error a refused caller sees inside its FenceError; nil means ErrLeaseLost.
	Cause error
}

type permit struct {
	until  int64 // last permitted tick
	start  Stamp
	valid  int64 // nanoseconds, 0 = no limit
	cause  error
	closed bool // revoked: refuse everything
}

// sealed is the bit of Generator.state that Revoke sets. Tick and sequence use at most 63 bits
// (a layout's fields sum to 63 with the node's), so the top bit is always free.
const sealed = 1 << 63

// Generator issues IDs for one node. It is safe for concurrent use and lock-free: Next is a loop of
// an atomic compare-and-swap over the packed (tick, sequence) of the last ID issued.
type Generator struct {
	// state is the last issued tick << seqBits | sequence, with the sealed bit once revoked. It
	// sits on its own cache line with the count of closed ticks' IDs, which changes with it.
	state atomic.Uint64
	done  atomic.Uint64 // IDs issued in ticks before the one in state (see issuedNow)
	_     [48]byte
	seen  atomic.Uint64 // the largest count Stats reported

	permit    atomic.Pointer[permit]
	overloads atomic.Uint64
	backwards atomic.Uint64
	overTick  atomic.Int64 // the tick of the last counted overload, so each tick counts once
	backTick  atomic.Int64 // the tick of the last counted backward step

	layout   Layout
	node     Node
	nodeBits int64
	seqBits  uint
	seqMask  uint64
	tShift   uint
	sShift   uint
	maxTick  int64
	epochNs  int64
	unitNs   int64
	maxBack  time.Duration
	clk      clockReader
	sleeper  Sleeper
	floor    int64
}

// New returns a generator configured by s. Errors: ErrInvalidLayout for a layout whose epoch is after
// the clock's time, a RangeError (ErrOutOfRange) for node values that do not fit the layout, and
// ErrTimeOverflow when After lies beyond the layout's lifetime.
func New(s Settings) (*Generator, error) {
	l := s.Layout.orDefault()
	if err := l.CheckNode(s.Node); err != nil {
		return nil, err
	}
	g := &Generator{
		layout:   l,
		node:     s.Node,
		nodeBits: l.nodeBits(s.Node),
		seqBits:  uint(l.Bits(FieldSequence)),
		tShift:   uint(l.shift(FieldTime)),
		sShift:   uint(l.shift(FieldSequence)),
		maxTick:  l.Max(FieldTime),
		epochNs:  l.epochMs * int64(time.Millisecond),
		unitNs:   int64(l.unit),
		maxBack:  s.MaxBackwards,
	}
	g.seqMask = 1<<g.seqBits - 1
	if g.maxBack == 0 {
		g.maxBack = DefaultMaxBackwards
	}
	clock := s.Clock
	if clock == nil {
		clock = newSysClock(0)
	}
	g.clk = newClockReader(clock)
	g.sleeper, _ = clock.(Sleeper)
	if now := clock.Now(); now.Before(l.Epoch()) {
		return nil, fmt.Errorf("%w: epoch %s is after the clock's time %s", ErrInvalidLayout,
			l.Epoch().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	if !s.After.IsZero() {
		g.floor = max(l.Ticks(s.After), 0)
		if g.floor >= g.maxTick {
			return nil, fmt.Errorf("%w: high-water mark %s is at or past the end of layout %s (%s)", ErrTimeOverflow,
				s.After.UTC().Format(time.RFC3339Nano), l.name, l.End().Format(time.RFC3339))
		}
	}
	// The sequence of the floor tick counts as used up, so the first ID has a later tick.
	g.state.Store(uint64(g.floor)<<g.seqBits | g.seqMask)
	g.done.Store(-(g.seqMask + 1)) // the floor tick's "used up" sequence was never issued
	g.overTick.Store(-1)
	g.backTick.Store(-1)
	return g, nil
}

// Layout returns the generator's layout.
func (g *Generator) Layout() Layout { return g.layout }

// Node returns the generator's node values.
func (g *Generator) Node() Node { return g.node }

// read returns the clock's wall time in Unix nanoseconds and a monotonic reading.
func (g *Generator) read() (wall, mono int64) { return g.clk.read() }

// Stamp reads the generator's clock, for Permit.Start.
func (g *Generator) Stamp() Stamp { return g.clk.stamp() }

// tick converts Unix nanoseconds to a tick, rounding down.
func (g *Generator) tick(wall int64) int64 {
	d := wall - g.epochNs
	switch {
	case d < 0:
		return -1 - (-d-1)/g.unitNs
	case g.unitNs == int64(time.Millisecond):
		return d / int64(time.Millisecond) // a constant divisor compiles to a multiplication
	}
	return d / g.unitNs
}

// tickWall returns the Unix nanoseconds at which tick starts.
func (g *Generator) tickWall(tick int64) int64 { return g.epochNs + tick*g.unitNs }

// Grant sets the permit that bounds what g issues from now on, replacing any earlier one (and lifting
// a Revoke).
func (g *Generator) Grant(p Permit) {
	np := &permit{until: math.MaxInt64, start: p.Start, valid: int64(p.Valid), cause: p.Cause}
	if !p.Until.IsZero() {
		np.until = g.layout.Ticks(p.Until)
	}
	if np.cause == nil {
		np.cause = ErrLeaseLost
	}
	g.permit.Store(np)
	for { // lift a Revoke's seal, after the new permit is in place
		old := g.state.Load()
		if old&sealed == 0 || g.state.CompareAndSwap(old, old&^sealed) {
			return
		}
	}
}

// Revoke makes g refuse to issue, with a FenceError carrying cause, until the next Grant. It is a
// barrier for calls in flight: once it returns, no Next or Fill that began before it can still
// issue, and Last reports the last tick issued for good (until a Grant). It returns that time.
//
// Why nothing in flight gets through: every ID is issued by a compare-and-swap of state from the
// value the call loaded. Revoke stores the revoked permit and then sets the sealed bit of state
// with a compare-and-swap of its own. A call whose compare-and-swap comes after the seal fails it,
// since state changed; it loads state again, sees the seal and returns the FenceError. A call
// whose compare-and-swap came first is in the state Revoke sealed, so its tick is at most the
// time Revoke returns. Nothing depends on clocks or on how long a goroutine was preempted.
func (g *Generator) Revoke(cause error) time.Time {
	if cause == nil {
		cause = ErrLeaseLost
	}
	g.permit.Store(&permit{closed: true, cause: cause})
	if simbug.CloseRace {
		return g.Last() // issue 10, defect 1, put back: in-flight calls are not stopped
	}
	for {
		old := g.state.Load()
		if old&sealed != 0 || g.state.CompareAndSwap(old, old|sealed) {
			return g.layout.TickTime(int64(old &^ sealed >> g.seqBits))
		}
	}
}

// Fenced returns the FenceError that g would return now, or nil when it may issue.
func (g *Generator) Fenced() error {
	p := g.permit.Load()
	if p == nil {
		return nil
	}
	w, m := g.read()
	return p.check(g.tick(w), Stamp{w, m}, g)
}

func (p *permit) check(tick int64, now Stamp, g *Generator) error {
	switch {
	case p.closed:
		return &FenceError{Cause: p.cause}
	case p.valid > 0 && int64(p.start.Since(now)) >= p.valid:
		return &FenceError{Cause: fmt.Errorf("%w: permit granted %v ago lapsed after %v", p.cause,
			p.start.Since(now).Round(time.Millisecond), time.Duration(p.valid))}
	case tick > p.until:
		return &FenceError{Cause: fmt.Errorf("%w: timestamp %s is past the recorded high-water mark %s", p.cause,
			g.layout.TickTime(tick).Format(time.RFC3339Nano), g.layout.TickTime(p.until).Format(time.RFC3339Nano))}
	}
	return nil
}

// Next returns a new ID, greater than every ID g returned before. When the sequence of the current
// tick is used up it waits for the next tick; when the clock went backwards it waits up to the
// MaxBackwards bound and then returns a ClockBackwardsError. Other errors: ErrTimeOverflow once the
// layout's lifetime is over, and a FenceError while g is fenced.
func (g *Generator) Next() (ID, error) {
	tick, seq, _, err := g.reserve(context.Background(), 1, false)
	if err != nil {
		return 0, err
	}
	return g.compose(tick, seq), nil
}

// NextContext is Next, but gives up waiting when ctx is done, returning ctx's error.
func (g *Generator) NextContext(ctx context.Context) (ID, error) {
	tick, seq, _, err := g.reserve(ctx, 1, false)
	if err != nil {
		return 0, err
	}
	return g.compose(tick, seq), nil
}

// TryNext is Next without waiting: where Next would wait it returns a WouldWaitError saying for how long.
func (g *Generator) TryNext() (ID, error) {
	tick, seq, _, err := g.reserve(context.Background(), 1, true)
	if err != nil {
		return 0, err
	}
	return g.compose(tick, seq), nil
}

// Fill fills ids with new IDs in increasing order, reserving up to a tick's worth of sequence with
// each atomic operation, and waits like NextContext. On error it returns how many it filled.
func (g *Generator) Fill(ctx context.Context, ids []ID) (int, error) {
	n := 0
	for n < len(ids) {
		tick, seq, k, err := g.reserve(ctx, uint64(len(ids)-n), false)
		if err != nil {
			return n, err
		}
		for i := uint64(0); i < k; i++ {
			ids[n] = g.compose(tick, seq+int64(i))
			n++
		}
	}
	return n, nil
}

func (g *Generator) compose(tick, seq int64) ID {
	return ID(tick<<g.tShift | seq<<g.sShift | g.nodeBits)
}

// reserve claims up to want consecutive sequence numbers of one tick and returns the tick, the
// first sequence number and how many it claimed (at least one).
func (g *Generator) reserve(ctx context.Context, want uint64, try bool) (tick, seq int64, n uint64, err error) {
	var wall, mono int64
	reread, careful := true, false
	var now int64
	for {
		var old uint64
		// Everything that does not depend on the state is done before loading it: the shorter the
		// window between the load and the compare-and-swap, the less often another goroutine
		// gets in between, and each retry costs a cache-line transfer between cores.
		p := g.permit.Load()
		switch {
		case careful:
			// Load the state before reading the clock: every tick in the state was then read from
			// the clock before our reading, so now < last means the clock really went back.
			old = g.state.Load()
			wall, mono = g.read()
			now = g.tick(wall)
		case reread:
			wall, mono = g.read()
			now = g.tick(wall)
			old = g.state.Load()
		default:
			old = g.state.Load()
		}
		if old&sealed != 0 {
			if p = g.permit.Load(); p.closed {
				return 0, 0, 0, &FenceError{Cause: p.cause}
			}
			runtime.Gosched() // a Grant is lifting the seal
			reread, careful = true, false
			continue
		}
		last := int64(old >> g.seqBits)
		used := old & g.seqMask
		if now < last && !careful {
			careful = true // our reading may just be older than another goroutine's: look again
			continue
		}
		var next int64
		var first uint64
		switch {
		case now > last:
			next, first = now, 0
		case used < g.seqMask:
			// Same tick, or a clock behind the last tick while that tick has sequence left: go on
			// in the last tick, which keeps IDs increasing.
			next, first = last, used+1
			if now < last {
				g.countOnce(&g.backTick, &g.backwards, last)
			}
		default:
			if err := g.wait(ctx, try, now, last, wall); err != nil {
				return 0, 0, 0, err
			}
			reread, careful = true, false
			continue
		}
		if next > g.maxTick {
			return 0, 0, 0, fmt.Errorf("%w: layout %s ran out at %s", ErrTimeOverflow, g.layout.name, g.layout.End().Format(time.RFC3339))
		}
		if p != nil {
			if err := p.check(next, Stamp{wall, mono}, g); err != nil {
				return 0, 0, 0, err
			}
		}
		n = min(want, g.seqMask-first+1)
		if g.state.CompareAndSwap(old, uint64(next)<<g.seqBits|(first+n-1)) {
			if next != last {
				// Count the IDs of the tick this call closed; the IDs of the open tick are
				// counted from the state itself (see issuedNow).
				g.done.Add(used + 1)
			}
			return next, int64(first), n, nil
		}
		// Lost the race: try again with the same clock reading, which is only nanoseconds old.
		reread, careful = false, false
	}
}

// issuedNow returns how many IDs g has issued: the closed ticks' count plus the open tick's. A
// goroutine adds a closed tick's count just after its compare-and-swap, so a reader can briefly see
// fewer IDs than were issued, never more; the running maximum keeps the figure from going down.
func (g *Generator) issuedNow() uint64 {
	st := g.state.Load() &^ sealed
	n := g.done.Load() + st&g.seqMask + 1
	for {
		seen := g.seen.Load()
		if n <= seen || g.seen.CompareAndSwap(seen, n) {
			return max(n, seen)
		}
	}
}

// wait blocks until the tick after last has begun, counting the event, or returns why it will not.
func (g *Generator) wait(ctx context.Context, try bool, now, last, wall int64) error {
	until := g.tickWall(last + 1)
	backwards := now < last
	if backwards {
		g.countOnce(&g.backTick, &g.backwards, last)
		behind := time.Duration(g.tickWall(last) - wall)
		if g.maxBack < 0 || behind > g.maxBack {
			return &ClockBackwardsError{Behind: behind, Max: max(g.maxBack, 0)}
		}
	} else {
		g.countOnce(&g.overTick, &g.overloads, last)
	}
	if try {
		return &WouldWaitError{Wait: time.Duration(until - wall), Backwards: backwards}
	}
	return g.sleepUntil(ctx, until, wall)
}

// countOnce adds one to counter the first time it is called for tick.
func (g *Generator) countOnce(seen *atomic.Int64, counter *atomic.Uint64, tick int64) {
	if seen.Load() != tick && seen.Swap(tick) != tick {
		counter.Add(1)
	}
}

// spinWindow is how close to its target a wait stops sleeping and spins: the runtime's timers
// overshoot by up to about a millisecond, which would cost a good part of the next tick.
const spinWindow = 1500 * time.Microsecond

// sleepUntil waits until the clock reaches the Unix nanoseconds until. It sleeps while the target is
// far, then yields the processor in a loop, so it neither overshoots the target by a timer's slack
// nor spins for longer than about a tick.
//
// If the clock steps further back while it waits, it returns early, so that the caller judges the
// new distance against its bound instead of waiting for longer than that bound.
func (g *Generator) sleepUntil(ctx context.Context, until, wall int64) error {
	first := time.Duration(until - wall)
	for {
		rem := time.Duration(until - wall)
		if rem <= 0 || rem > first {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case g.sleeper != nil:
			if err := g.sleeper.Sleep(ctx, rem); err != nil {
				return err
			}
		case rem > spinWindow:
			if err := sleepCtx(ctx, rem-spinWindow); err != nil {
				return err
			}
		default:
			runtime.Gosched()
		}
		wall, _ = g.read()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if ctx.Done() == nil {
		time.Sleep(d)
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats is a snapshot of a generator's state and counters.
type Stats struct {
	Layout            string // preset name or "custom"
	Spec              string // the layout's fields
	EpochMs           int64  // the layout's epoch, Unix ms
	Node              Node
	Timestamp         int64  // the clock's time now, Unix ms
	LastTimestamp     int64  // the start of the last tick issued (or of the high-water tick), Unix ms
	Sequence          int64  // the last sequence number issued in that tick
	Issued            uint64 // IDs issued
	SequenceOverloads uint64 // ticks whose sequence ran out while callers wanted more
	ClockBackwards    uint64 // times the clock was found behind the last tick issued
	Fenced            error  // why the generator may not issue now, or nil
}

// Stats returns a snapshot. Fields are read one by one, so while IDs are being issued they may be
// a few IDs apart from each other.
func (g *Generator) Stats() Stats {
	st := g.state.Load() &^ sealed
	wall, _ := g.read()
	last := int64(st >> g.seqBits)
	seq := int64(st & g.seqMask)
	if last == g.floor && seq == int64(g.seqMask) {
		seq = 0 // nothing issued in the floor tick
	}
	return Stats{
		Layout:            g.layout.name,
		Spec:              g.layout.Spec(),
		EpochMs:           g.layout.epochMs,
		Node:              g.node,
		Timestamp:         wall / int64(time.Millisecond),
		LastTimestamp:     g.layout.TickTime(last).UnixMilli(),
		Sequence:          seq,
		Issued:            g.issuedNow(),
		SequenceOverloads: g.overloads.Load(),
		ClockBackwards:    g.backwards.Load(),
		Fenced:            g.Fenced(),
	}
}

// Last returns the time of the last tick g issued (or its high-water mark before the first ID).
func (g *Generator) Last() time.Time {
	return g.layout.TickTime(int64(g.state.Load() &^ sealed >> g.seqBits))
}

// Source is what hands out IDs: a *Generator, or a generator kept on a lease. Servers and commands
// serve any Source.
type Source interface {
	NextContext(ctx context.Context) (ID, error)
	Fill(ctx context.Context, ids []ID) (int, error)
	Stats() Stats
	Layout() Layout
}

var _ Source = (*Generator)(nil)
