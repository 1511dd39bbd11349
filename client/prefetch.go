package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// prefetcher keeps a buffer of IDs that its goroutine fills with GET /ids requests, one at a time.
// Every ID enters the buffer once and leaves it once, under mu, so none is handed out twice.
//
// With a maximum age, the IDs of a batch that will reach it within the refill lead (about the time
// a refill takes) count as gone for the low watermark: a buffer used at a steady rate gets fresh
// IDs before its old ones age out, instead of emptying at once when a whole batch ages and only
// then asking for more.
type prefetcher struct {
	c      *Client
	size   int
	low    int
	maxAge time.Duration

	mu      sync.Mutex
	chunks  []chunk       // batches in the order fetched
	n       int           // IDs in chunks
	ready   chan struct{} // closed, and replaced, whenever a request of the refill goroutine ends
	gen     uint64        // requests ended
	err     error         // the last request's error; nil after a success
	dropped uint64        // IDs dropped for age
	handed  uint64        // IDs handed out
	asked   uint64        // handed when the last refill started

	wake   chan struct{} // asks for a refill; holds at most one request
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returns
}

// chunk is one batch of IDs and when it arrived. Its age counts from its arrival, not from the
// request: a round trip longer than the maximum age would otherwise age every batch before its use.
type chunk struct {
	ids []snowfall.ID
	at  time.Time
}

func newPrefetcher(c *Client, size, low int, maxAge time.Duration) *prefetcher {
	p := &prefetcher{
		c: c, size: size, low: low, maxAge: maxAge,
		ready: make(chan struct{}),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.kick()
	go p.run()
	return p
}

// stop ends the goroutine, cancelling its request, and waits for it.
func (p *prefetcher) stop() {
	p.cancel()
	<-p.done
}

// kick asks for a refill unless one is already asked for.
func (p *prefetcher) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run refills the buffer when a call asks for it, and, while calls take IDs, when a batch comes
// within the refill lead of the maximum age and leaves the buffer low: a caller too sparse to pass
// that moment (one call every few hundred milliseconds) would otherwise find the buffer emptied by
// age. A buffer no call took from since the last refill is left to age: an idle client does not
// keep fetching IDs.
func (p *prefetcher) run() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var aging <-chan time.Time
		if d, ok := p.untilAging(); ok {
			timer.Reset(d)
			aging = timer.C
		}
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		case <-aging:
			if !p.lowByAge() {
				continue
			}
		}
		timer.Stop()
		p.refill()
	}
}

// minRefillLead is the least refill lead.
const minRefillLead = 10 * time.Millisecond

// lead returns how long before a batch reaches the maximum age its IDs count as gone: about the
// time a refill takes, four of the recent 99th percentile latencies of batch requests, plus the
// hedge delay with several servers (what a refill pays when the server it asks first is paused);
// at least minRefillLead, and at most half the maximum age (a longer lead would count every batch
// as gone and keep refilling).
func (p *prefetcher) lead() time.Duration {
	c := p.c
	d := 4 * time.Duration(c.batch.p99.Load())
	if len(c.servers) > 1 {
		d += c.hedgeDelay(&c.batch)
	}
	return min(max(d, minRefillLead), p.maxAge/2)
}

// fresh returns how many IDs of the buffer will not reach the maximum age within the refill lead of
// now: those that count for the low watermark; mu must be held.
func (p *prefetcher) fresh(now time.Time) int {
	if p.maxAge <= 0 {
		return p.n
	}
	n, window := p.n, p.maxAge-p.lead()
	for _, ch := range p.chunks {
		if now.Sub(ch.at) < window {
			break
		}
		n -= len(ch.ids)
	}
	return n
}

// untilAging returns how long until the next batch comes within the refill lead of the maximum
// age; false when no batch will.
func (p *prefetcher) untilAging() (time.Duration, bool) {
	if p.maxAge <= 0 {
		return 0, false
	}
	now := p.c.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	window := p.maxAge - p.lead()
	for _, ch := range p.chunks {
		if d := window - now.Sub(ch.at); d > 0 {
			return d, true
		}
	}
	return 0, false
}

// lowByAge reports whether calls took IDs since the last refill started and the buffer is at or
// below the low watermark, counting the IDs about to age as gone.
func (p *prefetcher) lowByAge() bool {
	now := p.c.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.handed != p.asked && p.fresh(now) <= p.low
}

// refill tops the buffer up to size IDs that will not age within the refill lead, in batches of at
// most MaxBatch, stopping at the first error. The IDs about to age stay in the buffer, and are
// handed out first, until they do.
func (p *prefetcher) refill() {
	now := p.c.now()
	p.mu.Lock()
	p.dropAged(now)
	need := p.size - p.fresh(now)
	p.asked = p.handed
	p.mu.Unlock()
	for need > 0 && p.ctx.Err() == nil {
		k := min(need, MaxBatch)
		ids, err := p.c.fetchBatch(p.ctx, make([]snowfall.ID, 0, k), k)
		at := p.c.now()
		p.mu.Lock()
		if err == nil {
			p.chunks = append(p.chunks, chunk{ids: ids, at: at})
			p.n += len(ids)
			need -= len(ids)
		}
		p.err = err
		p.gen++
		close(p.ready)
		p.ready = make(chan struct{})
		p.mu.Unlock()
		if err != nil {
			if p.ctx.Err() == nil {
				p.c.log.Warn("snowfall prefetch failed", "err", err)
			}
			return
		}
	}
}

// dropAged drops the IDs fetched more than maxAge before now; mu must be held.
func (p *prefetcher) dropAged(now time.Time) {
	if p.maxAge <= 0 {
		return
	}
	for len(p.chunks) > 0 && now.Sub(p.chunks[0].at) > p.maxAge {
		k := len(p.chunks[0].ids)
		p.n -= k
		p.dropped += uint64(k)
		p.chunks[0] = chunk{}
		p.chunks = p.chunks[1:]
	}
}

// pop takes the oldest ID still young enough; mu must be held.
func (p *prefetcher) pop(now time.Time) (snowfall.ID, bool) {
	p.dropAged(now)
	if p.n == 0 {
		return 0, false
	}
	h := &p.chunks[0]
	id := h.ids[0]
	h.ids = h.ids[1:]
	p.n--
	p.handed++
	if len(h.ids) == 0 {
		p.chunks[0] = chunk{}
		p.chunks = p.chunks[1:]
	}
	return id, true
}

// next returns an ID from the buffer, waiting for the refill goroutine while the buffer is empty. It
// returns the error of a refill request that ended while it waited.
func (p *prefetcher) next(ctx context.Context) (snowfall.ID, error) {
	var gen uint64
	waited := false
	for {
		var now time.Time
		if p.maxAge > 0 {
			now = p.c.now()
		}
		p.mu.Lock()
		if id, ok := p.pop(now); ok {
			low := p.fresh(now) <= p.low
			p.mu.Unlock()
			if low {
				p.kick()
			}
			return id, nil
		}
		if err := p.err; waited && p.gen != gen && err != nil {
			p.mu.Unlock()
			return 0, err
		}
		var ready chan struct{}
		gen, ready = p.gen, p.ready
		p.mu.Unlock()
		p.kick()
		select {
		case <-ready:
			waited = true
		case <-ctx.Done():
			return 0, fmt.Errorf("client: next id: waiting for prefetched IDs: %w", ctx.Err())
		case <-p.ctx.Done():
			return 0, ErrClosed
		}
	}
}
