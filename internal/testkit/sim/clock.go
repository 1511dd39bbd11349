package sim

import (
	"bytes"
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

// clock is a holder's clock in the bubble's virtual time: a fakeclock.Following (the bubble's time
// plus an offset the holder's chaos goroutine steps) with the simulation's own two faults on top. It
// has no monotonic reading, so the lease fence measures on this (skewed, stepped) wall clock alone:
// a clock stepped back stretches a permit, which only the mark, not the fence, may be relied on to
// survive.
//
// Two faults act through Now. A freeze (the whole process stopped) makes every read wait until the
// thaw. A preemption, armed by a worker for its own goroutine just before it calls Next, makes that
// goroutine's next read sleep first: the generator loads its permit, then reads the clock, so the
// sleep falls exactly between the two (defect 1's schedule).
type clock struct {
	fc      *fakeclock.Clock
	mu      sync.Mutex
	thaw    time.Time
	armed   atomic.Int32
	preempt map[uint64]time.Duration // goroutine id -> pause before its next read
}

func newClock() *clock {
	return &clock{fc: fakeclock.Following(0), preempt: map[uint64]time.Duration{}}
}

// Now implements snowfall.Clock.
func (c *clock) Now() time.Time {
	if c.armed.Load() > 0 {
		if d := c.disarm(goid()); d > 0 {
			time.Sleep(d)
		}
	}
	c.waitThaw()
	return c.peek()
}

// peek reads the clock without any fault.
func (c *clock) peek() time.Time { return c.fc.Now() }

// Sleep implements snowfall.Sleeper on the bubble's timers.
func (c *clock) Sleep(ctx context.Context, d time.Duration) error { return c.fc.Sleep(ctx, d) }

func (c *clock) setOffset(d time.Duration) { c.fc.SetOffset(d) }

func (c *clock) getOffset() time.Duration { return c.fc.Offset() }

// freeze stops the holder's reads (and, through its link, its calls) for d.
func (c *clock) freeze(d time.Duration) {
	c.mu.Lock()
	if t := time.Now().Add(d); t.After(c.thaw) {
		c.thaw = t
	}
	c.mu.Unlock()
}

func (c *clock) waitThaw() {
	for {
		c.mu.Lock()
		d := time.Until(c.thaw)
		c.mu.Unlock()
		if d <= 0 {
			return
		}
		time.Sleep(d)
	}
}

// arm makes the calling goroutine's next read sleep for d first.
func (c *clock) arm(d time.Duration) {
	c.mu.Lock()
	c.preempt[goid()] = d
	c.armed.Store(int32(len(c.preempt)))
	c.mu.Unlock()
}

// disarm removes and returns the calling goroutine's pending pause, if any.
func (c *clock) disarm(id uint64) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.preempt[id]
	delete(c.preempt, id)
	c.armed.Store(int32(len(c.preempt)))
	return d
}

// goid returns the calling goroutine's id, from the first line of its stack trace ("goroutine N
// [..."). The simulation uses it only to aim a preemption at one worker's call.
func goid() uint64 {
	var b [64]byte
	s := b[:runtime.Stack(b[:], false)]
	s = bytes.TrimPrefix(s, []byte("goroutine "))
	if i := bytes.IndexByte(s, ' '); i > 0 {
		s = s[:i]
	}
	n, _ := strconv.ParseUint(string(s), 10, 64)
	return n
}
