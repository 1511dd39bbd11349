package snowfall

import (
	"context"
	"sync/atomic"
	"time"
)

// Clock tells the time. Generators read it for every ID; inject one to test clock steps.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

// SystemClock returns the clock generators use by default: wall-clock time, read cheaply.
//
// Reading the wall and monotonic clocks together (time.Now) costs about twice as much as reading the
// monotonic clock alone, which would double the cost of an ID. The system clock therefore derives the
// wall time from the monotonic clock and an anchor it re-reads from the wall clock every 10 ms, so a
// step of the wall clock, back or forward, shows within 10 ms. The times it returns carry a monotonic
// reading. It is safe for concurrent use.
//
// A suspended machine hides from that reading in the same way: the monotonic clock stops while the
// machine sleeps, so for up to 10 ms after it wakes neither the derived wall time nor the monotonic
// time shows the suspension. A generator whose permit has a length (Permit.Valid; every Leased
// generator's has) therefore reads both clocks afresh on every call, at the price of one more clock
// read per ID: a permit that lapsed while the machine slept refuses the first call after it wakes.
func SystemClock() Clock { return newSysClock(0) }

// OffsetClock returns the system clock shifted by offset, for fault-injection tests that need a host
// whose clock is ahead or behind. Never use it to "fix" a clock.
func OffsetClock(offset time.Duration) Clock { return newSysClock(offset) }

// resync is how often the system clock re-reads the wall clock.
const resync = 10 * time.Millisecond

// monoBase is the origin of the monotonic readings used in this package.
var monoBase = time.Now()

type sysClock struct {
	offset int64
	anchor atomic.Pointer[anchor]
	src    timeSource // nil: the runtime's clocks
}

// timeSource is what a sysClock reads instead of the runtime's clocks: tests inject one to model a
// machine that is suspended (its wall reading jumps on resume, its monotonic one does not).
type timeSource interface {
	mono() int64             // monotonic nanoseconds since monoBase; stops while the machine is suspended
	now() (wall, mono int64) // wall-clock Unix nanoseconds and the monotonic reading, together
}

// monoNow returns the monotonic reading, in nanoseconds since monoBase.
func (c *sysClock) monoNow() int64 {
	if c.src != nil {
		return c.src.mono()
	}
	return int64(time.Since(monoBase))
}

// wallNow reads the wall clock (shifted by the offset) and the monotonic clock together.
func (c *sysClock) wallNow() (wall, mono int64) {
	if c.src != nil {
		wall, mono = c.src.now()
		return wall + c.offset, mono
	}
	t := time.Now()
	return t.UnixNano() + c.offset, int64(t.Sub(monoBase))
}

type anchor struct {
	mono int64 // nanoseconds since monoBase
	wall int64 // Unix nanoseconds at mono
}

func newSysClock(offset time.Duration) *sysClock { return newSysClockFrom(offset, nil) }

// newSysClockFrom returns a system clock that reads src (nil: the runtime's clocks).
func newSysClockFrom(offset time.Duration, src timeSource) *sysClock {
	c := &sysClock{offset: int64(offset), src: src}
	c.reanchor()
	return c
}

func (c *sysClock) reanchor() *anchor {
	wall, mono := c.wallNow()
	a := &anchor{mono: mono, wall: wall}
	c.anchor.Store(a)
	return a
}

// reanchorFrom replaces old with a fresh anchor, unless another goroutine already did: one anchor
// at a time keeps readings from different goroutines on the same scale.
func (c *sysClock) reanchorFrom(old *anchor) *anchor {
	wall, mono := c.wallNow()
	a := &anchor{mono: mono, wall: wall}
	if c.anchor.CompareAndSwap(old, a) {
		return a
	}
	return c.anchor.Load()
}

// read returns wall-clock Unix nanoseconds and monotonic nanoseconds since monoBase.
func (c *sysClock) read() (wall, mono int64) {
	mono = c.monoNow()
	a := c.anchor.Load()
	if mono-a.mono >= int64(resync) {
		a = c.reanchorFrom(a)
	}
	if mono < a.mono {
		// Another goroutine anchored after our reading: the anchor's instant is as good a reading.
		mono = a.mono
	}
	return a.wall + mono - a.mono, mono
}

// Now returns the current wall-clock time.
func (c *sysClock) Now() time.Time {
	wall, _ := c.read()
	return time.Unix(0, wall)
}

// clockReader reads a Clock on the wall and monotonic scales, and the system clock without building
// a time.Time. Generators and the Leased keeper read their clock through it.
type clockReader struct {
	sys   *sysClock // the clock, when it is the system clock
	clock Clock
}

func newClockReader(c Clock) clockReader {
	sys, _ := c.(*sysClock)
	return clockReader{sys: sys, clock: c}
}

// read returns the clock's wall time in Unix nanoseconds and a monotonic reading.
func (r *clockReader) read() (wall, mono int64) {
	if r.sys != nil {
		return r.sys.read()
	}
	t := r.clock.Now()
	return t.UnixNano(), int64(t.Sub(monoBase))
}

// fresh is read, but never derived from an anchor: the system clock reads its wall clock now, so
// that a suspension since the last anchor shows.
func (r *clockReader) fresh() (wall, mono int64) {
	if r.sys != nil {
		return r.sys.wallNow()
	}
	return r.read()
}

// stamp returns one reading as a Stamp.
func (r *clockReader) stamp() Stamp {
	w, m := r.read()
	return Stamp{w, m}
}

// Sleeper is implemented by clocks that are not the system's (fakes in tests): generators wait
// through Sleep instead of the runtime's timers. Sleep returns early with ctx's error.
type Sleeper interface {
	Sleep(ctx context.Context, d time.Duration) error
}

// Stamp is one reading of a generator's clock on its wall and monotonic scales; see Generator.Stamp.
type Stamp struct {
	wall, mono int64
}

// Time returns the stamp's wall-clock time.
func (s Stamp) Time() time.Time { return time.Unix(0, s.wall) }

// Since returns how long has passed from s to now, the larger of the wall-clock and the monotonic
// measure: the monotonic clock stops while a machine is suspended, the wall clock can be stepped.
func (s Stamp) Since(now Stamp) time.Duration {
	return time.Duration(max(now.wall-s.wall, now.mono-s.mono))
}
