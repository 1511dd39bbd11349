// Package fakeclock is the one fake clock of Snowfall's tests. A Clock implements snowfall.Clock
// and snowfall.Sleeper (and a NowFunc for the client) and comes in two kinds:
//
//   - New(t) stands still at t: it moves only when the test calls Set or Add, or when something
//     sleeps on it (Sleep advances it by the duration, so a generator that waits for the next tick
//     gets there at once).
//   - Following(offset) follows time.Now, shifted by an offset that Set and Add change. Inside a
//     testing/synctest bubble time.Now is the bubble's virtual time, and Sleep waits on the
//     bubble's timers; outside, it is the system clock with a step the test controls.
//
// Hold arms a preemption: the next Now call stops until the test releases it, which puts a
// goroutine on hold between two instructions of the code under test (between its permit check and
// its clock reading, or between its clock reading and its compare-and-swap).
//
// A Clock is safe for concurrent use. The package imports only the standard library, so the root
// package's own tests can use it.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Clock is a fake clock; see the package documentation.
type Clock struct {
	mu        sync.Mutex
	following bool
	t         time.Time     // the time, for a clock that stands still
	offset    time.Duration // the shift over time.Now, for a following clock
	hold      *Hold
}

// New returns a clock that stands at t until it is moved.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Following returns a clock that reads time.Now plus offset.
func Following(offset time.Duration) *Clock { return &Clock{following: true, offset: offset} }

// Now returns the clock's time. When a Hold is armed, the call that takes it stops until the hold
// is released.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	h := c.hold
	c.hold = nil
	now := c.read()
	c.mu.Unlock()
	if h == nil {
		return now
	}
	close(h.entered)
	<-h.release
	if h.late {
		c.mu.Lock()
		now = c.read()
		c.mu.Unlock()
	}
	return now
}

// read returns the time; c.mu is held.
func (c *Clock) read() time.Time {
	if c.following {
		return time.Now().Add(c.offset)
	}
	return c.t
}

// Set moves the clock to t (a following clock takes the offset that makes it read t now).
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.following {
		c.offset = time.Until(t)
		return
	}
	c.t = t
}

// Add moves the clock by d, back when d is negative.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.following {
		c.offset += d
		return
	}
	c.t = c.t.Add(d)
}

// SetOffset sets a following clock's shift over time.Now. It panics on a clock that stands still.
func (c *Clock) SetOffset(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.following {
		panic("fakeclock: SetOffset on a clock that stands still")
	}
	c.offset = d
}

// Offset returns a following clock's shift over time.Now (zero for a clock that stands still).
func (c *Clock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Sleep waits for d, or until ctx is done. A clock that stands still moves forward by d at once; a
// following clock waits on a timer (the bubble's, inside testing/synctest).
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !c.following {
		c.Add(d)
		return nil
	}
	select {
	case <-time.After(d): // collected once it fires or is unreachable (Go 1.23)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hold is an armed preemption; see Clock.Hold.
type Hold struct {
	late             bool
	entered, release chan struct{}
	once             sync.Once
}

// Hold arms a preemption of the next Now call: it stops until Release. With late false the call
// returns the time read before it stopped (a goroutine held between its clock reading and what
// follows); with late true, the time at its release (a goroutine held before its clock reading).
// Arming again before the hold is taken replaces it.
func (c *Clock) Hold(late bool) *Hold {
	h := &Hold{late: late, entered: make(chan struct{}), release: make(chan struct{})}
	c.mu.Lock()
	c.hold = h
	c.mu.Unlock()
	return h
}

// Entered is closed when a Now call has taken the hold and stopped.
func (h *Hold) Entered() <-chan struct{} { return h.entered }

// Release lets the held call go on. It may be called more than once.
func (h *Hold) Release() { h.once.Do(func() { close(h.release) }) }
