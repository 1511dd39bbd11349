package client

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
)

// checker refuses IDs that break the invariant every Snowfall fleet keeps: the IDs of one
// generator (one value of the node fields: gen, or dc and worker) increase in the order they are
// issued, across processes and takeovers. A client cannot know the issue order of answers that
// crossed in flight, so it checks what real time proves: an ID must be above every ID of its
// generator whose answer the client accepted before the request was sent. An ID equal to one it
// accepted is a repeat whenever it comes. It needs the layout to find the node fields: given with
// WithLayout, or learned from the first /stats that names one.
type checker struct {
	seq atomic.Uint64 // answers accepted; an attempt notes it when its request is sent

	mu    sync.Mutex
	known bool   // the layout is known: IDs are checked
	mask  uint64 // the node bits of the layout
	keys  map[uint64]*history
	// Learning the layout: pinned by WithLayout; gaveUp when the servers do not name one;
	// learning is closed when the request in flight ends; retryAt after a failed request.
	gaveUp   bool
	learning chan struct{}
	retryAt  time.Time
}

// maxGenerators bounds the generators a checker remembers; past it, one is forgotten for each new
// one (a hostile server sending IDs of made-up generators costs the check, not memory).
const maxGenerators = 4096

// learnRetry is how long a client waits before it asks for /stats again after a failure.
const learnRetry = time.Second

func newChecker(l snowfall.Layout, pinned bool) *checker {
	k := &checker{keys: map[uint64]*history{}}
	if pinned {
		k.setLayout(l)
	}
	return k
}

// setLayout makes k check IDs under l; mu must be held or k not yet shared.
func (k *checker) setLayout(l snowfall.Layout) {
	k.mask, k.known = nodeMask(l), true
}

// nodeMask returns the bits of l's node fields.
func nodeMask(l snowfall.Layout) uint64 {
	var m uint64
	shift := 63
	for _, f := range l.Fields() {
		shift -= f.Bits
		if f.Kind != snowfall.FieldTime && f.Kind != snowfall.FieldSequence {
			m |= (1<<f.Bits - 1) << shift
		}
	}
	return m
}

// snapshot returns the count of accepted answers, to be noted when a request is sent.
func (k *checker) snapshot() uint64 { return k.seq.Load() }

// accept checks the IDs of one answer of server, whose request was sent when the count was seq,
// and records them if none is refused. ids must increase.
func (k *checker) accept(server string, ids []snowfall.ID, seq uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.known || len(ids) == 0 {
		return nil
	}
	var (
		key   uint64
		h     *history
		mixed bool // the answer holds IDs of several generators
	)
	for i, id := range ids {
		if g := uint64(id) & k.mask; i == 0 || g != key {
			mixed = mixed || i > 0
			key, h = g, k.keys[g]
		}
		if h == nil {
			continue
		}
		if prev, bad := h.refuses(id, seq); bad {
			return &OrderError{Server: server, ID: id, Prev: prev}
		}
	}
	now := k.seq.Load()
	// The last ID of each generator in the answer is its largest.
	last := len(ids) - 1
	k.record(uint64(ids[last])&k.mask, ids[last], now)
	if mixed {
		seen := map[uint64]bool{uint64(ids[last]) & k.mask: true}
		for i := last - 1; i >= 0; i-- {
			if g := uint64(ids[i]) & k.mask; !seen[g] {
				seen[g] = true
				k.record(g, ids[i], now)
			}
		}
	}
	k.seq.Add(1)
	return nil
}

// record notes id, accepted at count seq, as the latest of generator key.
func (k *checker) record(key uint64, id snowfall.ID, seq uint64) {
	h := k.keys[key]
	if h == nil {
		if len(k.keys) >= maxGenerators {
			for g := range k.keys {
				delete(k.keys, g)
				break
			}
		}
		h = &history{}
		k.keys[key] = h
	}
	h.push(seq, id)
}

// history is what a checker remembers of one generator: the running maximum of its IDs after each
// of the last answers that held it, with the count at which each was accepted, and the maximum
// before those (base).
type history struct {
	seq     [historyLen]uint64
	max     [historyLen]snowfall.ID
	n, head int // entries held; the newest is at head
	base    snowfall.ID
	baseSeq uint64
	hasBase bool
}

// historyLen is how many answers of one generator a history tells apart. Answers that crossed in
// flight with more than this many others of the generator are checked against an older maximum:
// less strictly, never wrongly.
const historyLen = 4

// push records the running maximum after an answer accepted at seq whose largest ID of this
// generator is id.
func (h *history) push(seq uint64, id snowfall.ID) {
	if h.n > 0 {
		id = max(id, h.max[h.head])
	}
	if h.n == historyLen {
		oldest := (h.head + 1) % historyLen
		h.base, h.baseSeq, h.hasBase = h.max[oldest], h.seq[oldest], true
	} else {
		h.n++
	}
	h.head = (h.head + 1) % historyLen
	h.seq[h.head], h.max[h.head] = seq, id
}

// refuses reports whether id, from a request sent at count seq, breaks the order, and the ID it
// is not above: the largest of its generator accepted before seq, or an equal one accepted at any
// time (every maximum recorded is an ID received).
func (h *history) refuses(id snowfall.ID, seq uint64) (snowfall.ID, bool) {
	floorFound := false
	var floor snowfall.ID
	for i := range h.n {
		j := (h.head - i + historyLen) % historyLen
		if h.max[j] == id {
			return id, true
		}
		if !floorFound && h.seq[j] < seq {
			floor, floorFound = h.max[j], true
		}
	}
	if h.hasBase {
		if h.base == id {
			return id, true
		}
		if !floorFound && h.baseSeq < seq {
			floor, floorFound = h.base, true
		}
	}
	if floorFound && id <= floor {
		return floor, true
	}
	return 0, false
}

// accept checks and records the IDs of an answer of s (see checker.accept).
func (c *Client) accept(s *endpoint, ids []snowfall.ID, seq uint64) error {
	return c.check.accept(s.base, ids, seq)
}

// learnLayout makes sure the checker knows the layout before an ID request: it asks GET /stats
// once (waiting for a request already in flight), within half of the call's deadline or timeout;
// after the servers failed it, again no sooner than learnRetry; after a call whose deadline came
// before the client's timeout ran out of time, at the next call. A fleet whose /stats names no layout (a pysnowflake server) gets IDs checked within each
// answer only; so does a call while /stats fails.
func (c *Client) learnLayout(ctx context.Context) {
	k := c.check
	k.mu.Lock()
	if k.known || k.gaveUp {
		k.mu.Unlock()
		return
	}
	if ch := k.learning; ch != nil {
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		return
	}
	if c.now().Before(k.retryAt) {
		k.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	k.learning = ch
	k.mu.Unlock()

	// Learning gets half of what the call may take, so that the ID request keeps the other half.
	budget, short := c.timeout, false
	if d, ok := ctx.Deadline(); ok && (budget <= 0 || time.Until(d) < budget) {
		budget, short = time.Until(d), true
	}
	lctx := ctx
	if budget > 0 {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, budget/2)
		defer cancel()
	}
	st, err := c.Stats(lctx)

	k.mu.Lock()
	defer k.mu.Unlock()
	k.learning = nil
	close(ch)
	var se *ServerError
	switch {
	case err == nil && st.Spec != "":
		l, perr := snowfall.ParseLayout(st.Spec)
		if perr != nil {
			k.gaveUp = true
			c.log.Warn("snowfall server's layout unreadable: IDs are checked within each answer only", "err", perr)
			return
		}
		k.setLayout(l)
	case err == nil:
		k.gaveUp = true
		c.log.Warn("snowfall server names no layout in /stats: IDs are checked within each answer only")
	case errors.As(err, &se) && !se.retryable():
		k.gaveUp = true
		c.log.Warn("snowfall server has no /stats: IDs are checked within each answer only", "err", err)
	case short && lctx.Err() != nil:
		// The call had less time than the client's timeout, and it ran out: the next call asks
		// again.
	default:
		k.retryAt = c.now().Add(learnRetry)
	}
}
