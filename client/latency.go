package client

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// latency keeps the latencies of the last answers of one kind of request and their 99th
// percentile, from which the hedge delay follows.
type latency struct {
	mu   sync.Mutex
	ring [latencySamples]time.Duration
	n    int // answers recorded
	p99  atomic.Int64
	// steady is set once latencyEvery answers were seen: p99 is then a percentile, not a guess
	// from a few answers.
	steady atomic.Bool
}

const (
	latencySamples = 128
	// latencyEvery is how many answers pass between two computations of the percentile, once
	// that many were seen (before, every answer).
	latencyEvery = 16
)

// add records the latency of one answer.
func (l *latency) add(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.n%latencySamples] = d
	l.n++
	if l.n > latencyEvery && l.n%latencyEvery != 0 {
		return
	}
	var buf [latencySamples]time.Duration
	s := buf[:min(l.n, latencySamples)]
	copy(s, l.ring[:len(s)])
	slices.Sort(s)
	l.p99.Store(int64(s[len(s)*99/100]))
	if l.n >= latencyEvery {
		l.steady.Store(true)
	}
}

// hedgeDelay returns how long a call waits for an attempt before it asks the next server too: the
// observed 99th percentile latency of this kind of request within [hedgeMin, hedgeMax] (for
// batches, at least hedgeMin, with no upper bound), hedgeMax until latencyEvery answers were seen;
// zero when hedging is off.
func (c *Client) hedgeDelay(l *latency) time.Duration {
	if c.hedgeMax <= 0 {
		return 0
	}
	if !l.steady.Load() {
		return c.hedgeMax
	}
	p := time.Duration(l.p99.Load())
	if l == &c.batch {
		// A batch takes as long as its server needs to issue it (4,096 IDs a millisecond per
		// generator at most, shared by concurrent batches), and its own 99th percentile says how
		// long that is: hedging it sooner only asks a second server for IDs that are thrown
		// away (16 concurrent NextIDs(20000) hedged 271 to 579 of 631 to 945 calls and
		// discarded 4.6 to 7.4 million IDs with the cap).
		return max(p, c.hedgeMin)
	}
	return min(max(p, c.hedgeMin), c.hedgeMax)
}
