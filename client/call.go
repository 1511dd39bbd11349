package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall/api"
)

// endpoint is one server's base URL and its health, as the calls of this client saw it.
type endpoint struct {
	base  string
	down  atomic.Int64 // Unix nanoseconds (by the client's clock) until which the server backs off; 0 when healthy
	slow  atomic.Int64 // Unix nanoseconds until which the server counts as slow: a call had to ask another server meanwhile
	fails atomic.Int32 // failures since its last good answer
	lost  atomic.Int32 // hedge races lost (calls that had to ask another server meanwhile) since its last good answer
}

// Server ranks in a call's order: the healthy first, then the slow, then those backing off.
const (
	rankHealthy = iota
	rankSlow
	rankDown
	ranks
)

func (s *endpoint) rank(now int64) int {
	switch {
	case s.down.Load() > now:
		return rankDown
	case s.slow.Load() > now:
		return rankSlow
	}
	return rankHealthy
}

// request is one kind of GET a call sends.
type request struct {
	op     string // the operation's name in errors, such as "next id"
	path   string
	accept string   // the Accept header; empty for none
	limit  int64    // the longest 200 answer read
	lat    *latency // the latencies of this kind of request
	ids    bool     // the answer holds IDs: those of an attempt that lost are counted as discarded
}

// When every server failed by refusing (none hung), a call asks them again after firstRetryPause,
// then after pauses that double, while it is within retryWindow of its start and its deadline.
const (
	firstRetryPause = 25 * time.Millisecond
	retryWindow     = 250 * time.Millisecond
)

// minProbe is the least time a server that is backing off gets to answer.
const minProbe = 200 * time.Millisecond

// maxErrorBody is how much of an error answer is read; its message is clipped to maxMessage.
const maxErrorBody = 16 << 10

// attemptResult is the outcome of one attempt: one request to one server.
type attemptResult struct {
	s        *endpoint
	seq      uint64        // the checker's count of accepted answers when the request was sent
	started  time.Time     // when it was sent
	bound    time.Duration // its own time limit; zero for none
	took     time.Duration
	body     *bytes.Buffer // a 200 answer's body, from bufPool; nil otherwise
	err      error
	timedOut bool // the attempt ran out of its own bound (not the call's context)
	hedged   bool // the call asked another server while this attempt was in flight; only the call's goroutine uses it
}

// call is the state that the attempts of one call share with it.
type call struct {
	c    *Client
	req  request
	done chan *attemptResult // holds an answer of every attempt: never blocks a sender

	mu       sync.Mutex
	finished bool // the call returned: later answers are discarded
}

// deliver hands a's outcome to the call, or discards it if the call has returned.
func (k *call) deliver(a *attemptResult) {
	k.mu.Lock()
	if !k.finished {
		k.done <- a
		k.mu.Unlock()
		return
	}
	k.mu.Unlock()
	k.discard(a)
}

// finish marks the call returned and discards the answers that came too late.
func (k *call) finish() {
	k.mu.Lock()
	k.finished = true
	k.mu.Unlock()
	for {
		select {
		case a := <-k.done:
			k.discard(a)
		default:
			return
		}
	}
}

// discard drops the answer of an attempt that lost, counting its IDs.
func (k *call) discard(a *attemptResult) {
	k.c.check.done(a.seq)
	if a.body == nil {
		return
	}
	if k.req.ids {
		k.c.counters.discarded.Add(uint64(countLines(a.body.Bytes())))
	}
	putBuf(a.body)
	a.body = nil
}

// countLines counts the non-empty lines of b: the IDs of an answer.
func countLines(b []byte) int {
	n := 0
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
		b = rest
	}
	return n
}

// do sends req to the servers until one gives an answer that accept takes, and returns nil then.
//
// Servers are tried in the order of the policy, those that are slow or backing off after the
// others. Each attempt is bounded by the client's timeout and by an equal share of what is left of
// the call's deadline among the servers not yet tried, so that no server can use up a call. When an
// attempt has not answered within the hedge delay (about the observed p99 latency), the next server
// is asked too, and the first answer that accept takes wins; the others are cancelled, and IDs in
// answers that arrive anyway are discarded and counted. A server that fails (a connection error, a
// 3xx, 4xx or 5xx status, an answer accept refuses, no answer within its bound, or none before the
// call's deadline) backs off, and the next server is asked. When every server of a round refused
// the request with the same 4xx status and message, the call ends at once: that answer is about the
// request, and none of them backs off for it. When every server failed otherwise, the call asks
// them all again after short pauses, within retryWindow.
//
// accept runs on the caller's goroutine, once per answer, until it returns nil; seq is the checker's
// count when the request was sent.
func (c *Client) do(ctx context.Context, req request, accept func(s *endpoint, body []byte, seq uint64) error) error {
	var orderBuf [8]*endpoint
	order := c.order(orderBuf[:0])
	n := len(order)
	k := &call{c: c, req: req, done: make(chan *attemptResult, n)}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer k.finish()

	hedge := c.hedgeDelay(req.lat)
	deadline, hasDeadline := ctx.Deadline()
	began := time.Now()
	var (
		next     int
		inflight []*attemptResult
		failures []Failure
		pause    = firstRetryPause
		hung     bool             // an attempt of this round ran out of its bound
		refusers []*attemptResult // attempts answered with a 4xx (not 429): their back-off waits (see below)
	)
	penalize := func() {
		for _, a := range refusers {
			c.failed(a.s, a.err)
		}
		refusers = nil
	}
	// A server backing off gets a short bound: it failed just before, and if it answers at all it
	// answers within a few of this kind of request's p99 latencies. While every server is backing
	// off, all are asked at once.
	probe := max(4*time.Duration(req.lat.p99.Load()), minProbe)
	launch := func() {
		for {
			s := order[next]
			next++
			bound := c.timeout
			if hasDeadline {
				share := time.Until(deadline) / time.Duration(n-next+1)
				if bound <= 0 || share < bound {
					bound = max(share, time.Millisecond)
				}
			}
			now := c.now().UnixNano()
			down := s.down.Load() > now
			if down && (bound <= 0 || probe < bound) {
				bound = probe
			}
			a := &attemptResult{s: s, seq: c.check.sent(), started: time.Now(), bound: bound}
			inflight = append(inflight, a)
			go c.attempt(actx, k, a)
			if !down || next == n || order[next].down.Load() <= now {
				return
			}
		}
	}
	launch()
	var hedgeC <-chan time.Time
	var timer *time.Timer
	if hedge > 0 && n > 1 {
		timer = time.NewTimer(hedge)
		defer timer.Stop()
		hedgeC = timer.C
	}
	for {
		var hc <-chan time.Time
		if next < n {
			hc = hedgeC
		}
		select {
		case a := <-k.done:
			inflight = slices.DeleteFunc(inflight, func(x *attemptResult) bool { return x == a })
			err := a.err
			if err == nil {
				err = accept(a.s, a.body.Bytes(), a.seq)
				putBuf(a.body)
				a.body = nil
			}
			c.check.done(a.seq)
			if err == nil {
				req.lat.add(a.took)
				if req.ids {
					// Only an answer with IDs clears a back-off: a server that refuses IDs
					// (fenced, Retry-After) still answers GET /stats, and the layout request
					// then put it back in turn at once.
					c.healthy(a.s)
				}
				penalize()
				return nil
			}
			if errors.Is(err, ErrIDOrder) {
				c.counters.refused.Add(1)
			}
			if ctx.Err() != nil {
				penalize()
				return c.ended(ctx, req, failures, append(inflight, a), hedge)
			}
			if a.timedOut {
				c.counters.timedOut.Add(1)
				hung = true
			}
			// A 4xx other than 429 may be about the request (every server would refuse it
			// alike) or about the server (a proxy's 404, 403, 421, an impostor): it is that
			// server's failure, and the next server is asked. It backs off once the call
			// knows which: when another server answers, or refuses otherwise.
			if se := (*ServerError)(nil); errors.As(err, &se) && !se.retryable() {
				a.err = err
				refusers = append(refusers, a)
			} else {
				c.failed(a.s, err)
			}
			failures = append(failures, Failure{Server: a.s.base, Err: err})
			if next < n {
				launch()
				if timer != nil {
					timer.Reset(hedge)
				}
			} else if len(inflight) == 0 {
				// Every server failed. A fleet that is wholly refusing for a moment (all fenced
				// while their store is slow, a restart) often answers again within a few tens of
				// milliseconds: while the retry window and the call's deadline leave time, pause and
				// ask them all again. Servers that hang are not asked again: that takes time a
				// refusal does not, and they just had their bound.
				if sameRefusal(failures, n) {
					// Every server refused the request alike: it is about the request, and a
					// second round would get the same. No server backs off for it.
					refusers = nil
					return c.allFailed(req.op, failures, nil)
				}
				if hung || pause+time.Since(began) >= retryWindow || hasDeadline && time.Until(deadline) <= pause {
					penalize()
					return c.allFailed(req.op, failures, nil)
				}
				penalize()
				t := time.NewTimer(pause)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return c.ended(ctx, req, failures, nil, hedge)
				}
				pause *= 2
				order, next, failures, hung = c.order(orderBuf[:0]), 0, nil, false
				launch()
				if timer != nil {
					timer.Reset(hedge)
				}
			}
		case <-hc:
			// The attempts in flight are slower than nearly every answer: ask the next server
			// too, and let those servers go after the others for a while (once per attempt: a
			// call that hedges twice counts one lost race for the first server).
			for _, a := range inflight {
				if !a.hedged {
					a.hedged = true
					c.markSlow(a.s)
				}
			}
			c.counters.hedged.Add(1)
			launch()
			timer.Reset(hedge)
		case <-ctx.Done():
			penalize()
			return c.ended(ctx, req, failures, inflight, hedge)
		}
	}
}

// sameRefusal reports whether failures are one refusal of each of the n servers of a round, all
// with the same 4xx status (not 429) and message: an answer about the request, not the servers.
func sameRefusal(failures []Failure, n int) bool {
	if len(failures) != n {
		return false
	}
	var first *ServerError
	for _, f := range failures {
		var se *ServerError
		if !errors.As(f.Err, &se) || se.retryable() {
			return false
		}
		if first == nil {
			first = se
		} else if se.Status != first.Status || se.Message != first.Message {
			return false
		}
	}
	return true
}

// ended builds the error of a call whose context ended while attempts were in flight. When the
// deadline passed, servers that had been asked for longer than the hedge delay failed to answer in
// time, and back off like a server that refused.
func (c *Client) ended(ctx context.Context, req request, failures []Failure, inflight []*attemptResult, hedge time.Duration) error {
	cause := ctx.Err()
	for _, a := range inflight {
		waited := time.Since(a.started)
		if errors.Is(cause, context.DeadlineExceeded) && waited >= hedge {
			c.counters.timedOut.Add(1)
			c.failed(a.s, fmt.Errorf("no answer within the call's deadline (%v)", waited.Round(time.Millisecond)))
		}
		failures = append(failures, Failure{Server: a.s.base, Err: fmt.Errorf("no answer after %v: %w", waited.Round(time.Millisecond), cause)})
	}
	return c.allFailed(req.op, failures, cause)
}

// allFailed returns the error of a call that got no answer: with one server, its error; with
// several, an AllFailedError.
func (c *Client) allFailed(op string, failures []Failure, cause error) error {
	if len(c.servers) == 1 && len(failures) == 1 {
		return fmt.Errorf("client: %s: %w", op, failures[0].Err)
	}
	return &AllFailedError{Op: op, Failures: failures, Servers: len(c.servers), Cause: cause}
}

// order returns the servers in the order a call tries them: by the policy, then the healthy before
// the slow before those backing off.
func (c *Client) order(dst []*endpoint) []*endpoint {
	n := len(c.servers)
	if n == 1 {
		return append(dst, c.servers[0])
	}
	first := 0
	if c.policy == RoundRobin {
		first = int((c.turn.Add(1) - 1) % uint64(n))
	}
	now := c.now().UnixNano()
	var rankBuf [8]int8
	rank := rankBuf[:0]
	for i := range n {
		rank = append(rank, int8(c.servers[(first+i)%n].rank(now)))
	}
	for r := range int8(ranks) {
		for i := range n {
			if rank[i] == r {
				dst = append(dst, c.servers[(first+i)%n])
			}
		}
	}
	return dst
}

// maxBackoffDoublings bounds the back-off of a server that keeps failing: DefaultBackoff grows to
// 2 s.
const maxBackoffDoublings = 3

// failed makes s back off after err: the back-off doubles with each failure since its last good
// answer, and a Retry-After (up to maxRetryAfter) lengthens it.
func (c *Client) failed(s *endpoint, err error) {
	d := c.backoff << min(bump(&s.fails)-1, maxBackoffDoublings)
	var se *ServerError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, max(maxRetryAfter, d))
	}
	s.down.Store(c.now().Add(d).UnixNano())
	c.log.Warn("snowfall server failed", "server", s.base, "backoff", d, "err", err)
}

// bump adds one to a count of failures or lost races and returns it; the count stops growing far
// past maxBackoffDoublings, so that it never wraps to a negative shift.
func bump(n *atomic.Int32) int32 {
	if k := n.Load(); k >= 1<<16 {
		return k
	}
	return n.Add(1)
}

// markSlow puts s after the others for a back-off interval, which doubles with each hedge race s
// lost since its last good answer, up to the cap of a failure's back-off. A server that accepts
// requests and never answers (paused) would otherwise be asked first again after every back-off
// interval, and a sparse caller would wait the hedge delay at nearly every call.
func (c *Client) markSlow(s *endpoint) {
	d := c.backoff << min(bump(&s.lost)-1, maxBackoffDoublings)
	s.slow.Store(c.now().Add(d).UnixNano())
}

// healthy clears s's failures after a good answer.
func (c *Client) healthy(s *endpoint) {
	if s.fails.Load() != 0 {
		s.fails.Store(0)
	}
	if s.down.Load() != 0 {
		s.down.Store(0)
	}
	if s.slow.Load() != 0 {
		s.slow.Store(0)
	}
	if s.lost.Load() != 0 {
		s.lost.Store(0)
	}
}

// bufPool holds response buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 4<<20 {
		bufPool.Put(b)
	}
}

// attempt sends one request to a.s within a.bound and delivers the outcome to k.
func (c *Client) attempt(ctx context.Context, k *call, a *attemptResult) {
	actx := ctx
	if a.bound > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, a.bound)
		defer cancel()
	}
	a.body, a.err = c.send(actx, a.s, k.req)
	a.took = time.Since(a.started)
	if a.err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		a.timedOut = true
		a.err = fmt.Errorf("no answer within %v: %w", a.bound.Round(time.Millisecond), a.err)
	}
	k.deliver(a)
}

// send sends one GET to s and returns the body of a 200 answer.
func (c *Client) send(ctx context.Context, s *endpoint, r request) (*bytes.Buffer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+r.path, nil)
	if err != nil {
		return nil, err
	}
	if r.accept != "" {
		req.Header["Accept"] = []string{r.accept}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	buf := getBuf()
	limit := r.limit
	if resp.StatusCode != http.StatusOK {
		limit = maxErrorBody
	}
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength) + 1)
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1)); err != nil && resp.StatusCode == http.StatusOK {
		putBuf(buf)
		return nil, fmt.Errorf("reading the answer to GET %s: %w", r.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := serverError(s.base, resp, buf.Bytes())
		putBuf(buf)
		return nil, e
	}
	if int64(buf.Len()) > limit {
		putBuf(buf)
		return nil, fmt.Errorf("%w: the answer to GET %s is longer than %d bytes", ErrBadResponse, r.path, limit)
	}
	return buf, nil
}

// serverError builds the ServerError for an error status. The message is the server's (the error
// of its api.Error body, or the body itself), made printable and clipped to maxMessage bytes.
func serverError(base string, resp *http.Response, body []byte) *ServerError {
	e := &ServerError{Server: base, Status: resp.StatusCode}
	var eb api.Error
	if json.Unmarshal(body, &eb) == nil && eb.Message != "" {
		e.Message = printable(eb.Message)
	} else if t := strings.TrimSpace(string(body)); t != "" {
		e.Message = printable(t)
	} else {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e.Message = "a redirect, which the client does not follow: " + e.Message
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(ra)); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(min(secs, 1e6)) * time.Second // no overflow
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = max(time.Until(t), 0)
		}
	}
	return e
}
