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
// issue, so the last tick issued is final (until a Grant; Stats reports it as LastTimestamp). It
// returns that tick's time.
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
