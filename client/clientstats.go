package client

// ClientStats counts what a client did beyond plain requests.
type ClientStats struct {
	Hedged    uint64 // attempts started while an earlier attempt of the same call was still waiting
	Discarded uint64 // IDs that arrived in the answer of an attempt that lost, dropped unused
	Refused   uint64 // answers refused because an ID was at or below one of its generator received before
}

// Add returns the sum of s and o.
func (s ClientStats) Add(o ClientStats) ClientStats {
	return ClientStats{Hedged: s.Hedged + o.Hedged, Discarded: s.Discarded + o.Discarded, Refused: s.Refused + o.Refused}
}

// ClientStats returns the client's counters.
func (c *Client) ClientStats() ClientStats { return ClientStats{} }
