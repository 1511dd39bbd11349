package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/client"
)

// ClientKind is one configuration of package client whose availability is measured.
type ClientKind struct {
	Name    string
	Options []client.Option
	// Prefetch says the kind hands out prefetched IDs, whose request lies before the call: its IDs
	// are checked for duplicates, not for order against the calls' times.
	Prefetch bool
}

// AvailLoad describes the clients of an availability measurement: Clients clients of every kind,
// each a client.Client given the address of every slot, calling NextID one call at a time with a
// deadline of Deadline per call and Pause between calls.
type AvailLoad struct {
	Kinds    []ClientKind
	Clients  int
	Deadline time.Duration
	Pause    time.Duration
}

// Call is one NextID call as an availability client saw it.
type Call struct {
	Start, End time.Duration // since the fleet started
	ID         snowfall.ID
	Err        string // empty when the call returned an ID
}

// AvailLog is what the clients of one kind recorded: the calls of each client in order, and the
// clients' own counters summed.
type AvailLog struct {
	Kind     ClientKind
	Clients  [][]Call
	Counters client.ClientStats
}

// PullClients runs the availability clients until ctx is done and returns their calls by kind, in
// the order of ld.Kinds.
func (f *Fleet) PullClients(ctx context.Context, ld AvailLoad) ([]*AvailLog, error) {
	servers := make([]string, len(f.slots))
	for i := range f.slots {
		servers[i] = "http://" + f.Addr(i)
	}
	logs := make([]*AvailLog, len(ld.Kinds))
	var cs []*client.Client
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	for k, kind := range ld.Kinds {
		logs[k] = &AvailLog{Kind: kind, Clients: make([][]Call, ld.Clients)}
		for j := range ld.Clients {
			// Every client gets the servers in the same order, as processes deployed with one
			// configuration do: with failover, all of them start at the same server.
			c, err := client.New("", append([]client.Option{client.WithServers(servers...)}, kind.Options...)...)
			if err != nil {
				return nil, fmt.Errorf("fleet: client %s: %w", kind.Name, err)
			}
			cs = append(cs, c)
			wg.Go(func() { logs[k].Clients[j] = f.callLoop(ctx, c, ld) })
		}
	}
	wg.Wait()
	for k := range ld.Kinds {
		for j := range ld.Clients {
			logs[k].Counters = logs[k].Counters.Add(cs[k*ld.Clients+j].ClientStats())
		}
	}
	return logs, nil
}

// callLoop calls NextID until ctx is done.
func (f *Fleet) callLoop(ctx context.Context, c *client.Client, ld AvailLoad) []Call {
	var calls []Call
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, ld.Deadline)
		start := f.Since()
		id, err := c.NextID(cctx)
		end := f.Since()
		cancel()
		if ctx.Err() != nil {
			break // the run ended during the call: it counts for nothing
		}
		call := Call{Start: start, End: end, ID: id}
		if err != nil {
			call.Err = err.Error()
		}
		calls = append(calls, call)
		sleep(ctx, ld.Pause)
	}
	return calls
}

// AvailReport is the availability of one client kind as its calls saw it.
type AvailReport struct {
	Kind     string
	Calls    int
	Answered int // calls that returned an ID within their deadline
	// FailedTime is the time the clients spent in calls that returned no ID; ClientTime the time
	// from each client's first call to its last answer, summed over the clients.
	FailedTime, ClientTime time.Duration
	// LongestGap is the longest time one client went without an ID (between the ends of two
	// successful calls, or from its first call to its first ID); LongestGapAny the longest time
	// in which no client of the kind received one.
	LongestGap, LongestGapAny time.Duration
	GapAt                     time.Duration // when the longest gap of one client ended, since the fleet started
	// GapsOver counts, over the clients, the gaps longer than GapGoal.
	GapsOver int
	// Duplicates counts this kind's IDs that some call or request of the run also received.
	Duplicates int
	// ErrSamples are the first few distinct errors.
	ErrSamples []string
	Counters   client.ClientStats
}

// GapGoal is the longest time a client may go without an ID while a server is healthy.
const GapGoal = 100 * time.Millisecond

// CheckAvail measures each kind's calls; seen counts every ID received in the run by anyone (the
// pullers' and every kind's), for duplicates.
func CheckAvail(logs []*AvailLog, seen map[snowfall.ID]int, deadline time.Duration) []AvailReport {
	var out []AvailReport
	for _, lg := range logs {
		r := AvailReport{Kind: lg.Kind.Name, Counters: lg.Counters}
		var okEnds []time.Duration
		errs := map[string]bool{}
		for _, calls := range lg.Clients {
			if len(calls) == 0 {
				continue
			}
			last := calls[0].Start
			for _, c := range calls {
				r.Calls++
				if c.Err != "" || c.End-c.Start > deadline {
					r.FailedTime += c.End - c.Start
					if e := shortErr(c.Err); !errs[e] && len(r.ErrSamples) < maxSamples {
						errs[e] = true
						r.ErrSamples = append(r.ErrSamples, fmt.Sprintf("at %.2fs after %v: %s", c.End.Seconds(), (c.End-c.Start).Round(time.Millisecond), e))
					}
					continue
				}
				r.Answered++
				if seen[c.ID] > 1 {
					r.Duplicates++
				}
				if g := c.End - last; g > r.LongestGap {
					r.LongestGap, r.GapAt = g, c.End
				}
				if c.End-last > GapGoal {
					r.GapsOver++
				}
				last = c.End
				okEnds = append(okEnds, c.End)
			}
			end := calls[len(calls)-1].End
			if g := end - last; g > r.LongestGap {
				r.LongestGap, r.GapAt = g, end
			}
			if end-last > GapGoal {
				r.GapsOver++
			}
			r.ClientTime += end - calls[0].Start
		}
		slices.Sort(okEnds)
		for i := 1; i < len(okEnds); i++ {
			r.LongestGapAny = max(r.LongestGapAny, okEnds[i]-okEnds[i-1])
		}
		out = append(out, r)
	}
	return out
}

// shortErr keeps the first line of an error, clipped.
func shortErr(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// AnsweredRatio is the share of calls answered within their deadline.
func (r AvailReport) AnsweredRatio() float64 {
	if r.Calls == 0 {
		return 0
	}
	return float64(r.Answered) / float64(r.Calls)
}

// FailedRatio is the share of the clients' time spent in calls that returned no ID.
func (r AvailReport) FailedRatio() float64 {
	if r.ClientTime <= 0 {
		return 0
	}
	return float64(r.FailedTime) / float64(r.ClientTime)
}

// Summary is the report's line: avail: client=… calls=… answered=… time_without_ids=…
// longest_gap_ms=… longest_gap_any_ms=… gaps_over_100ms=… duplicates=… and the client's counters.
func (r AvailReport) Summary(dark time.Duration) string {
	return fmt.Sprintf("avail: client=%s calls=%d answered=%.4f%% time_without_ids=%.3f%% longest_gap_ms=%d longest_gap_any_ms=%d gaps_over_100ms=%d duplicates=%d no_server_ms=%d hedged=%d discarded=%d refused=%d",
		r.Kind, r.Calls, 100*r.AnsweredRatio(), 100*r.FailedRatio(), r.LongestGap.Milliseconds(), r.LongestGapAny.Milliseconds(),
		r.GapsOver, r.Duplicates, dark.Milliseconds(), r.Counters.Hedged, r.Counters.Discarded, r.Counters.Refused)
}

// Dark returns the buckets of 100 ms between from and to in which no server answered any request of
// the pullers, by their start since the fleet started: time in which no server was healthy, so that
// no client could get an ID.
func Dark(lg *Log, from, to time.Duration) []time.Duration {
	ok := map[int64]bool{}
	for _, q := range lg.Requests {
		ok[int64(q.End/bucket)] = true
	}
	var dark []time.Duration
	for b := int64(from/bucket) + 1; b < int64(to/bucket); b++ {
		if !ok[b] {
			dark = append(dark, time.Duration(b)*bucket)
		}
	}
	return dark
}
