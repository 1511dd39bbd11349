package server

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// newConnGrace is how long a new connection may take to send its first request's headers before
// the limiter may reclaim it for a waiting client. A client sends its request as soon as it has
// connected; one that has not finished its headers by then is slow or stalling on purpose.
const newConnGrace = time.Second

// limiter is a listener that keeps at most max of its connections open. When a client arrives
// while max are open, it reclaims one that serves no request, so that a full cap of quiet clients
// cannot lock the others out (the probes first): the connection idle longest between keep-alive
// requests, else the oldest new one that has not finished its first request's headers within
// newConnGrace. Only when every connection is busy with a request does the new client wait,
// accepted but not yet served, for one to close or go idle.
//
// Closing an idle keep-alive connection is what HTTP allows a server to do at any time (RFC 9112,
// section 9.6); clients retry an idempotent request that meets it, as the Go client does.
//
// http.Server.ConnState must call connState so that the limiter knows what each connection does.
type limiter struct {
	net.Listener
	max int

	reclaimed atomic.Uint64 // connections closed to admit another
	waiting   atomic.Int32  // Accepts waiting for room: only then does a connection going idle signal

	mu      sync.Mutex
	conns   map[*conn]struct{} // the open connections
	changed chan struct{}      // closed (and replaced) when a connection closes, or goes idle while an Accept waits
	closed  bool
	done    chan struct{} // closed by Close
}

func newLimiter(ln net.Listener, max int) *limiter {
	return &limiter{Listener: ln, max: max, conns: make(map[*conn]struct{}, max),
		changed: make(chan struct{}), done: make(chan struct{})}
}

// conn is a connection admitted by a limiter. Its writes pass through secureAnswer.
type conn struct {
	net.Conn
	l *limiter

	// Set by connState on every request, without the limiter's lock: the hot path.
	state atomic.Int32 // an http.ConnState
	since atomic.Int64 // when it entered state, Unix nanoseconds

	once sync.Once
}

// Accept waits for a client, then for room under the cap (reclaiming a quiet connection if it
// can), and returns the client's connection.
func (l *limiter) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: nc, l: l}
	for {
		now := time.Now()
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			nc.Close()
			return nil, net.ErrClosed
		}
		if len(l.conns) < l.max {
			c.state.Store(int32(http.StateNew))
			c.since.Store(now.UnixNano())
			l.conns[c] = struct{}{}
			l.mu.Unlock()
			return c, nil
		}
		// Counted as waiting before the scan: a connection that goes idle after it signals.
		l.waiting.Add(1)
		victim, wait := l.quietest(now)
		changed := l.changed
		l.mu.Unlock()
		if victim != nil {
			l.waiting.Add(-1)
			l.reclaimed.Add(1)
			victim.Close()
			continue
		}
		ok := l.await(changed, wait)
		l.waiting.Add(-1)
		if !ok {
			nc.Close()
			return nil, net.ErrClosed
		}
	}
}

// quietest returns the connection to reclaim, or nil and how long until a new connection becomes
// reclaimable (zero: none will by itself). l.mu is held.
func (l *limiter) quietest(now time.Time) (*conn, time.Duration) {
	var idle, fresh *conn
	var idleSince, freshSince int64
	for c := range l.conns {
		since := c.since.Load()
		switch http.ConnState(c.state.Load()) {
		case http.StateIdle:
			if idle == nil || since < idleSince {
				idle, idleSince = c, since
			}
		case http.StateNew:
			if fresh == nil || since < freshSince {
				fresh, freshSince = c, since
			}
		}
	}
	switch age := time.Duration(now.UnixNano() - freshSince); {
	case idle != nil:
		return idle, 0
	case fresh == nil:
		return nil, 0
	case age >= newConnGrace:
		return fresh, 0
	default:
		return nil, newConnGrace - age
	}
}

// await waits for changed, for wait (if not zero) or for Close, and reports false for Close.
func (l *limiter) await(changed <-chan struct{}, wait time.Duration) bool {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-changed:
	case <-timeout:
	case <-l.done:
		return false
	}
	return true
}

// connState records what a connection does; http.Server.ConnState calls it.
func (l *limiter) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return
	}
	switch st {
	case http.StateClosed, http.StateHijacked:
		c.release()
		return
	}
	c.since.Store(time.Now().UnixNano())
	c.state.Store(int32(st))
	if st == http.StateIdle && l.waiting.Load() > 0 {
		l.mu.Lock()
		l.signal()
		l.mu.Unlock()
	}
}

// signal wakes an Accept waiting for room; l.mu is held.
func (l *limiter) signal() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// open returns how many connections are open.
func (l *limiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *limiter) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// release gives c's room back.
func (c *conn) release() {
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		delete(l.conns, c)
		l.signal()
		l.mu.Unlock()
	})
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// Write sends b, with the security headers put into an answer that lacks them (see secureAnswer).
func (c *conn) Write(b []byte) (int, error) {
	if out, ok := secureAnswer(b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}
