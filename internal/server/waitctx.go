package server

import (
	"context"
	"sync"
	"time"
)

// waitCtx bounds how long an ID request waits for the source without arming a timer for the
// requests that never wait, which are nearly all of them: its deadline is fixed, and its timer
// started, the first time the source asks for it (Err, Done or Deadline), that is when the source
// is about to wait. It stands in for context.WithTimeout on the hot path, which costs a timer and
// three allocations per request.
//
// Each call to Done also marks the request's connection as waiting (the source is about to block
// on it), until release or resume: the limiter may then end the wait, by cancelling the
// request's context with errPreempted, to make room for a new connection at the cap.
type waitCtx struct {
	context.Context // the request's

	timeout time.Duration

	mu       sync.Mutex
	deadline time.Time
	inner    context.Context // with the deadline, once Done was called
	cancel   context.CancelFunc
	conn     *conn // the request's connection, once Done was called; nil without a limiter
	marked   bool  // conn is marked as waiting by Done
}

var waitPool = sync.Pool{New: func() any { return new(waitCtx) }}

// boundWait returns a context for parent whose deadline is timeout after the source first looks at
// it; release it once the source returned.
func boundWait(parent context.Context, timeout time.Duration) *waitCtx {
	c := waitPool.Get().(*waitCtx)
	c.Context, c.timeout = parent, timeout
	return c
}

// release stops the timer, if any, and recycles c.
func (c *waitCtx) release() {
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
	}
	if c.marked {
		c.conn.endWait()
	}
	c.Context, c.inner, c.cancel, c.deadline = nil, nil, nil, time.Time{}
	c.conn, c.marked = nil, false
	c.mu.Unlock()
	waitPool.Put(c)
}

// start fixes the deadline; c.mu is held.
func (c *waitCtx) start() {
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.timeout)
		if d, ok := c.Context.Deadline(); ok && d.Before(c.deadline) {
			c.deadline = d
		}
	}
}

func (c *waitCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.start()
	return c.deadline, true
}

func (c *waitCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.start()
		c.inner, c.cancel = context.WithDeadline(c.Context, c.deadline)
		c.conn = connOf(c.Context)
	}
	if !c.marked {
		c.conn.beginWait()
		c.marked = true
	}
	return c.inner.Done()
}

// resume records that the wait Done marked is over, the request having got what it waited for,
// and reports false if the limiter ended the wait first.
func (c *waitCtx) resume() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.marked {
		return true
	}
	c.marked = false
	return c.conn.endWait()
}

func (c *waitCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil {
		return c.inner.Err()
	}
	if err := c.Context.Err(); err != nil {
		return err
	}
	c.start()
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}
