package client

import "sync/atomic"

// ClientStats counts what a client did beyond asking one server per call.
type ClientStats struct {
	// Hedged counts attempts started while an earlier attempt of the same call had not answered
	// within the hedge delay.
	Hedged uint64
	// Discarded counts IDs received and dropped unused: those in the answer of an attempt that lost
	// to another, and those of the earlier batches of a NextIDs call that failed. The servers issued
	// them; no caller got them.
	Discarded uint64
	// Refused counts answers refused because one of their IDs was not above an ID of its generator
	// received before (ErrIDOrder).
	Refused uint64
	// TimedOut counts attempts that got no answer within their bound or the call's deadline.
	TimedOut uint64
	// Aged counts prefetched IDs dropped unused for being older than the maximum age.
	Aged uint64
}

// Add returns the sum of s and o.
func (s ClientStats) Add(o ClientStats) ClientStats {
	return ClientStats{Hedged: s.Hedged + o.Hedged, Discarded: s.Discarded + o.Discarded, Refused: s.Refused + o.Refused,
		TimedOut: s.TimedOut + o.TimedOut, Aged: s.Aged + o.Aged}
}

// counters are the live counts behind ClientStats.
type counters struct {
	hedged, discarded, refused, timedOut atomic.Uint64
}

// ClientStats returns the client's counters since New. It is safe to call concurrently with calls.
func (c *Client) ClientStats() ClientStats {
	st := ClientStats{
		Hedged:    c.counters.hedged.Load(),
		Discarded: c.counters.discarded.Load(),
		Refused:   c.counters.refused.Load(),
		TimedOut:  c.counters.timedOut.Load(),
	}
	if c.pre != nil {
		c.pre.mu.Lock()
		st.Aged = c.pre.dropped
		c.pre.mu.Unlock()
	}
	return st
}
