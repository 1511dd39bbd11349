package snowfall

import (
	"fmt"
	"time"
)

// Ready returns nil when a call to Next would issue an ID now or after a short wait, and otherwise
// the error it would return: a FenceError (ErrFenced) while g is fenced, a ClockBackwardsError when
// the clock is behind the last tick issued or the high-water mark by more than MaxBackwards, and an
// error matching ErrTimeOverflow once the layout has run out. It runs the checks of Next without
// issuing, so health checks spend no ID. It is safe for concurrent use; like any snapshot, the
// answer may change at once.
func (g *Generator) Ready() error {
	wall, mono := g.readFor(g.permit.Load())
	now := g.tick(wall)
	st := g.state.Load()
	if st&sealed != 0 { // revoked: the permit says why
		return &FenceError{Cause: g.permit.Load().cause}
	}
	last := int64(st >> g.seqBits)
	used := st & g.seqMask
	var next int64
	switch {
	case now > last:
		next = now
	case used < g.seqMask:
		next = last // issues on in the last tick
	default:
		if now < last {
			behind := time.Duration(g.tickWall(last) - wall)
			if g.maxBack < 0 || behind > g.maxBack {
				return &ClockBackwardsError{Behind: behind, Max: max(g.maxBack, 0)}
			}
		}
		next = last + 1 // after a wait shorter than MaxBackwards
	}
	if next > g.maxTick {
		return fmt.Errorf("%w: layout %s ran out at %s", ErrTimeOverflow, g.layout.name, g.layout.End().Format(time.RFC3339))
	}
	if p := g.permit.Load(); p != nil {
		return p.check(next, Stamp{wall, mono}, g)
	}
	return nil
}

// Ready is Generator.Ready for the current tenure's generator: nil when NextContext would issue
// now, else why not (a FenceError while the lease is in doubt, lost or closed).
func (l *Leased) Ready() error { return l.cur.Load().g.Ready() }
