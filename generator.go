package snowfall

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
	// the tick holding After. The zero time sets no mark. Restarts, lease takeovers and migrations
	// (ParseFloor reads an earlier generator's largest ID or last time) use it. A mark ahead of the
	// clock is accepted: Next waits for the clock within MaxBackwards, and Ready and CheckFloor
	// report a mark further ahead.
	After time.Time
}

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
	spread   uint64 // the layout's spread minus one: the mask of where a new tick's sequence starts
	tShift   uint
	sShift   uint
	maxTick  int64
	epochNs  int64
	unitNs   int64
	maxBack  time.Duration
	clk      clockReader
	sleeper  Sleeper
	floor    int64

	// ctl serializes Grant and Revoke, each two steps (the permit, then the seal): interleaved,
	// a Revoke's seal could land after a Grant had looked for one, leaving the state sealed under
	// the Grant's open permit. Next and Fill never take it.
	ctl sync.Mutex
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
	if l.spread > 0 {
		g.spread = uint64(l.spread) - 1
	}
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

// readFor reads the clock for a call under permit p. A permit whose length is checked needs a
// reading that shows a suspended machine at once: the system clock's cheap reading derives the
// wall time from the monotonic clock, which stops while the machine is suspended, and so hides a
// suspension until its next anchor (see SystemClock). Such calls read both clocks afresh.
func (g *Generator) readFor(p *permit) (wall, mono int64) {
	if p != nil && p.valid > 0 {
		return g.clk.fresh()
	}
	return g.clk.read()
}

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
			wall, mono = g.readFor(p)
			now = g.tick(wall)
		case reread:
			wall, mono = g.readFor(p)
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
			// A new tick's sequence starts at 0, or with a spread where the last tick's left off,
			// modulo the spread (at 0 after a full tick): see Layout.WithSpread.
			next, first = now, (used+1)&g.spread
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
				// counted from the state itself (see issuedNow), less the sequence numbers
				// below its first, which a spread skips.
				g.done.Add(used + 1 - first)
			}
			return next, int64(first), n, nil
		}
		// Lost the race: try again with the same clock reading, which is only nanoseconds old.
		reread, careful = false, false
	}
}

// countOnce adds one to counter the first time it is called for tick.
func (g *Generator) countOnce(seen *atomic.Int64, counter *atomic.Uint64, tick int64) {
	if seen.Load() != tick && seen.Swap(tick) != tick {
		counter.Add(1)
	}
}
