package snowfall

import (
	"fmt"
	"math"
	"time"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// Permit bounds what a generator may issue; the lease code grants one after every renewal.
type Permit struct {
	// Until is the last instant whose tick the generator may issue; IDs with a later time field
	// are refused. The zero time sets no ceiling.
	Until time.Time
	// Start is a Stamp taken before the renewal that granted this permit began.
	Start Stamp
	// Valid is how long after Start the permit lasts, measured with Stamp.Since on a fresh reading
	// of both clocks at every call (so a suspension of the machine shows at once, see
	// SystemClock); zero means no limit.
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

// sealed is the bit of Generator.state that Revoke sets. Tick and sequence use at most 62 bits (the
// node fields take at least one of a layout's 63), and Grant's step past the last tick (at most to
// the tick after the layout's last) at most one more, so the top bit is always free.
const sealed = 1 << 63

// Grant sets the permit that bounds what g issues from now on, replacing any earlier one, and lifts
// a Revoke.
//
// Lifting a Revoke never re-opens it for calls that were in flight: Grant does not clear the seal
// back to the word Revoke sealed (a call that loaded that word before Revoke would then win its
// compare-and-swap, under the permit it checked before Revoke, however long after the Grant). It
// moves the word past it instead, so that no word a call loaded before the Grant can ever match
// again: the state only grows. The new word marks one more sequence number of the sealed tick
// used, or, when that tick was full, the next tick used up (so that no tick ahead of the clock is
// opened). This costs at most one sequence number, or one tick, per Grant that lifts a seal
// (Issued does not count it).
//
// Grant and Revoke are serialized: made at once, each takes effect whole, in some order.
func (g *Generator) Grant(p Permit) {
	g.ctl.Lock()
	defer g.ctl.Unlock()
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
		if old&sealed == 0 {
			return
		}
		// The skipped number is not an issued ID: take it off the count first (a reader may see
		// one fewer for a moment, never one more).
		w := old &^ sealed
		next, adj := w+1, ^uint64(0) // one more number of the same tick; -1
		if w&g.seqMask == g.seqMask {
			// The sealed tick is used up, and the next word would open the next tick, maybe
			// ahead of the clock: mark that tick used up instead, so the generator goes on only
			// once its clock is past it. The sealed tick is closed here, all of its sequence
			// counted, and the tick marked used up is not counted.
			next, adj = w+1+g.seqMask, 0
		}
		g.done.Add(adj)
		if g.state.CompareAndSwap(old, next) {
			return
		}
		g.done.Add(-adj) // another Grant lifted it first
	}
}

// Revoke makes g refuse to issue, with a FenceError carrying cause, until the next Grant. It is a
// barrier for calls in flight: once it returns, no Next or Fill that began before it can still
// issue, neither now nor after a later Grant, so the last tick issued is final until a Grant (Stats
// reports it as LastTimestamp). It returns that tick's time.
//
// Why nothing in flight gets through: every ID is issued by a compare-and-swap of state from the
// value the call loaded. Revoke stores the revoked permit and then sets the sealed bit of state
// with a compare-and-swap of its own. A call whose compare-and-swap comes after the seal fails it,
// since state changed; it loads state again, sees the seal and returns the FenceError. A call
// whose compare-and-swap came first is in the state Revoke sealed, so its tick is at most the
// time Revoke returns. A Grant moves the state past the sealed word (see Grant), so a call that
// loaded the word before Revoke fails its compare-and-swap after the Grant too, loads the new
// permit and is judged by it. Nothing depends on clocks or on how long a goroutine was preempted.
// A Grant made at the same time comes wholly before or wholly after (see Grant).
func (g *Generator) Revoke(cause error) time.Time {
	if cause == nil {
		cause = ErrLeaseLost
	}
	g.ctl.Lock()
	defer g.ctl.Unlock()
	g.permit.Store(&permit{closed: true, cause: cause})
	if simbug.CloseRace {
		return g.lastTime() // issue 10, defect 1, put back: in-flight calls are not stopped
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
	w, m := g.readFor(p)
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
