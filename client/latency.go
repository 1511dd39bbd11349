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
// observed 99th percentile latency of this kind of request within [hedgeMin, hedgeMax], hedgeMax
// until latencyEvery answers were seen; zero when hedging is off.
func (c *Client) hedgeDelay(l *latency) time.Duration {
	if c.hedgeMax <= 0 {
		return 0
	}
	if !l.steady.Load() {
		return c.hedgeMax
	}
	p := time.Duration(l.p99.Load())
	return min(max(p, c.hedgeMin), c.hedgeMax)
}
