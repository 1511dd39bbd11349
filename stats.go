package snowfall

import (
	"context"
	"time"
)

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

// lastTime returns the time of the last tick g issued (or its high-water mark before the first ID).
func (g *Generator) lastTime() time.Time {
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
