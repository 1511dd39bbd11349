package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// stallGrace is how long a connection may keep the server waiting on its client (a write the
// client does not read) before the limiter counts it as stalled, and how long a new connection
// counts as young. A client reads its answer as it comes; a write that waits this long waits on a
// client that is slow or stalling on purpose.
const stallGrace = 250 * time.Millisecond

// limiter is a listener that keeps at most max of its connections open. When a client arrives
// while max are open, it closes one that is not doing the server's work, so that no number of
// quiet or stalling clients can lock the others out (the probes first). In this order it takes:
//
//  1. the connection idle longest between keep-alive requests (a half-sent next request
//     included), or one that net/http is about to close;
//  2. the one stalled longest on its client: a new connection that has not sent its request's
//     headers within stallGrace, or one whose answer the client has not taken for stallGrace;
//  3. the one whose request has waited longest for a resource it shares with other requests (a
//     batch slot, the source's next tick or a clock that went back), not doing work: the wait
//     ends at once, the request is answered 503 with Retry-After (or, an /ids answer already
//     begun, cut off) and the connection closed;
//  4. the oldest new connection that has not sent its request's headers yet.
//
// A connection that goes idle while a client waits for room is closed at once, before net/http
// reads a next request it pipelined. Only when every connection is busy with a request (the
// handler at work, or a write that has not waited stallGrace yet) does the new client wait,
// accepted but not yet served, for one to close, go idle, stall or wait. Request bodies never keep a connection busy: no handler reads one, and the
// server closes a connection that brought one without reading it (see refuseBody).
//
// Closing an idle keep-alive connection is what HTTP allows a server to do at any time (RFC 9112,
// section 9.6); clients retry an idempotent request that meets it, as the Go client does.
//
// http.Server.ConnState must call connState so that the limiter knows what each connection does,
// and http.Server.ConnContext must be connContext, so that a request's waits can be ended.
type limiter struct {
	net.Listener
	max int

	reclaimed atomic.Uint64 // connections closed to admit another
	waiting   atomic.Int32  // Accepts waiting for room: only then do connections signal changes

	mu      sync.Mutex
	conns   map[*conn]struct{} // the open connections
	changed chan struct{}      // closed (and replaced) when a connection closes, goes idle or starts closing while an Accept waits
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
	state   atomic.Int32 // an http.ConnState
	since   atomic.Int64 // when it entered state, Unix nanoseconds
	writing atomic.Int64 // when the Write under way began, Unix nanoseconds; 0: none
	closing atomic.Bool  // net/http called CloseWrite: it closes the connection after a linger
	// When its request began to wait for a shared resource, Unix nanoseconds; 0: it does not
	// wait; preempted: the limiter ended the wait to make room (for good).
	waitSince atomic.Int64

	cancel context.CancelCauseFunc // cancels the requests' contexts; set by connContext under l.mu

	once sync.Once
}

// Accept waits for a client, then for room under the cap (reclaiming a connection that does no
// work if it can), and returns the client's connection.
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
		// Counted as waiting before the scan: a connection that changes after it signals.
		l.waiting.Add(1)
		victim, rank, wait := l.quietest(now)
		if rank == waiting {
			// The request's handler answers, and its connection closes: CloseWrite or Close
			// signals.
			victim.preempt()
			l.reclaimed.Add(1)
			victim, wait = nil, stallGrace
		}
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

// Ranks of the connections quietest may reclaim, from the last choice to the first.
const (
	busy    = iota // at work on a request: never reclaimed
	young          // new, headers not sent yet, within stallGrace
	waiting        // its request waits for a shared resource: preempted, not closed
	stalled        // new past stallGrace, or a write not taken for stallGrace
	quiet          // idle between requests, or closing
)

// quietest returns the connection to reclaim and its rank, or nil and how long to wait before
// looking again: until the first write under way stalls, else stallGrace (a write or a wait that
// begins meanwhile does not signal: the hot path takes no lock). l.mu is held.
func (l *limiter) quietest(now time.Time) (*conn, int, time.Duration) {
	var best *conn
	bestRank, bestSince := busy, int64(0)
	var next time.Duration // until the first write under way stalls
	for c := range l.conns {
		rank, since := busy, c.since.Load()
		switch st := http.ConnState(c.state.Load()); {
		case c.closing.Load() || st == http.StateIdle:
			rank = quiet
		case st == http.StateNew:
			rank = young
			if time.Duration(now.UnixNano()-since) >= stallGrace {
				rank = stalled
			}
		default:
			if w := c.waitSince.Load(); w > 0 {
				rank, since = waiting, w
			} else if w := c.writing.Load(); w != 0 {
				if left := stallGrace - time.Duration(now.UnixNano()-w); left > 0 {
					if next == 0 || left < next {
						next = left
					}
				} else {
					rank, since = stalled, w
				}
			}
		}
		if rank > bestRank || rank == bestRank && rank != busy && since < bestSince {
			best, bestRank, bestSince = c, rank, since
		}
	}
	if best != nil {
		return best, bestRank, 0
	}
	if next == 0 {
		next = stallGrace
	}
	return nil, busy, next
}

// await waits for changed, for wait or for Close, and reports false for Close.
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
		// A client waits for room: take it now, before net/http reads a request this one
		// pipelined, which would make it busy again before the client's Accept looks.
		l.reclaimed.Add(1)
		c.Close()
	}
}

// connContext gives each connection's requests a context that preempt cancels;
// http.Server.ConnContext calls it.
func (l *limiter) connContext(ctx context.Context, nc net.Conn) context.Context {
	c, ok := nc.(*conn)
	if !ok || c.l != l {
		return ctx
	}
	ctx, cancel := context.WithCancelCause(ctx)
	l.mu.Lock()
	c.cancel = cancel
	l.mu.Unlock()
	return context.WithValue(ctx, connKey{}, c)
}

// connKey is the context key of a request's *conn.
type connKey struct{}

// connOf returns the connection a request came on, or nil when no limiter admitted it.
func connOf(ctx context.Context) *conn {
	c, _ := ctx.Value(connKey{}).(*conn)
	return c
}

// errPreempted is the cause of a request's context when the limiter ended its wait to make room
// for a new connection.
var errPreempted = errors.New("server: the connection cap is full and a new client needed room")

// preempted is conn.waitSince once the limiter ended its request's wait.
const preempted = -1

// preempt ends the wait of c's request, which then answers 503 and closes c; l.mu is held.
func (c *conn) preempt() {
	if w := c.waitSince.Load(); w > 0 && c.waitSince.CompareAndSwap(w, preempted) && c.cancel != nil {
		c.cancel(errPreempted)
	}
}

// beginWait records that c's request begins to wait for a resource it shares with other
// requests; c may be nil.
func (c *conn) beginWait() {
	if c != nil {
		c.waitSince.CompareAndSwap(0, time.Now().UnixNano())
	}
}

// endWait records that c's request got what it waited for, and reports false if the limiter
// ended the wait first (the request must then give it back and answer 503); c may be nil.
func (c *conn) endWait() bool {
	if c == nil {
		return true
	}
	w := c.waitSince.Load()
	return w != preempted && (w == 0 || c.waitSince.CompareAndSwap(w, 0))
}

// wake signals a change to an Accept waiting for room, if one is; without one it costs an atomic
// load.
func (l *limiter) wake() {
	if l.waiting.Load() > 0 {
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

// CloseWrite ends c's sending side when the connection under it can; net/http calls it, then
// lingers before closing c, so that the client reads the answer before the close resets it.
// From then on c does no work: the limiter may reclaim it.
func (c *conn) CloseWrite() error {
	c.closing.Store(true)
	c.l.wake()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Write sends b, with the security headers put into an answer that lacks them (see secureAnswer).
// While it waits on the client, the limiter may count c as stalled.
func (c *conn) Write(b []byte) (int, error) {
	c.writing.Store(time.Now().UnixNano())
	defer c.writing.Store(0)
	if out, ok := secureAnswer(b); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}
