package fleet

import (
	"cmp"
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

// Span is an interval of the run, since the fleet started.
type Span struct{ From, To time.Duration }

// WatchStalls records, until ctx is done, the times the test process itself did not run: a goroutine
// that sleeps 5 ms at a time notes each sleep that lasted over 30 ms. On a loaded machine such
// stalls delay every client of the process at once, whatever the servers do.
func (f *Fleet) WatchStalls(ctx context.Context) []Span {
	var stalls []Span
	const nap, late = 5 * time.Millisecond, 30 * time.Millisecond
	for ctx.Err() == nil {
		t0 := f.Since()
		sleep(ctx, nap)
		if t1 := f.Since(); t1-t0 > late {
			stalls = append(stalls, Span{t0 + nap, t1})
		}
	}
	return stalls
}

// AvailReport is the availability of one client kind as its calls saw it. The goals hold while at
// least one server is healthy, so the figures leave out the calls and gaps that overlap a bucket of
// 100 ms in which no server answered the pullers (dark time); the Raw figures keep them.
type AvailReport struct {
	Kind     string
	Calls    int
	Answered int // calls that returned an ID within their deadline
	// FailedTime is the time the clients spent in calls that returned no ID; ClientTime the time
	// from each client's first call to its last answer, summed over the clients, less dark time.
	FailedTime, ClientTime time.Duration
	// LongestGap is the longest time one client went without an ID (between the ends of two
	// successful calls, or from its first call to its first ID); LongestGapAny the longest time
	// in which no client of the kind received one.
	LongestGap, LongestGapAny time.Duration
	GapAt                     time.Duration // when the longest gap of one client ended, since the fleet started
	// GapsOver counts, over the clients, the gaps longer than GapGoal; GapsOverStalled those of
	// them during which the test process stalled (WatchStalls) for over half of GapGoal.
	GapsOver, GapsOverStalled int
	// LongGaps are the longest gaps over GapGoal in which the process did not stall, longest first.
	LongGaps []Span
	// RawCalls, RawAnswered and RawLongestGap count dark time too.
	RawCalls, RawAnswered int
	RawLongestGap         time.Duration
	// Dark is the time no server answered the pullers, Alone the time only one did; Stalled the
	// time the test process stalled.
	Dark, Alone, Stalled time.Duration
	// Duplicates counts this kind's IDs that some call or request of the run also received.
	Duplicates int
	// ErrSamples are the first few distinct errors outside dark time; Causes counts the failed calls
	// outside dark time by the kind of their error (see failureCause).
	ErrSamples []string
	Causes     map[string]int
	Counters   client.ClientStats
}

// GapGoal is the longest time a client may go without an ID while a server is healthy.
const GapGoal = 100 * time.Millisecond

// CheckAvail measures each kind's calls; seen counts every ID received in the run by anyone (the
// pullers' and every kind's), for duplicates; dark are the buckets in which no server answered
// (Dark).
//
// stalls are the stalls of the test process (WatchStalls).
func CheckAvail(logs []*AvailLog, seen map[snowfall.ID]int, deadline time.Duration, dark []time.Duration, stalls []Span) []AvailReport {
	darkSet := map[int64]bool{}
	for _, b := range dark {
		darkSet[int64(b/bucket)] = true
	}
	inDark := func(from, to time.Duration) bool {
		for b := int64(from / bucket); b <= int64(to/bucket); b++ {
			if darkSet[b] {
				return true
			}
		}
		return false
	}
	darkTime := time.Duration(len(dark)) * bucket
	var stalled time.Duration
	for _, st := range stalls {
		stalled += st.To - st.From
	}
	// stalledIn returns how long the process stalled within [from, to].
	stalledIn := func(from, to time.Duration) time.Duration {
		i, _ := slices.BinarySearchFunc(stalls, from, func(s Span, t time.Duration) int { return cmp.Compare(s.To, t) })
		var d time.Duration
		for ; i < len(stalls) && stalls[i].From < to; i++ {
			d += min(stalls[i].To, to) - max(stalls[i].From, from)
		}
		return d
	}
	var out []AvailReport
	for _, lg := range logs {
		r := AvailReport{Kind: lg.Kind.Name, Counters: lg.Counters, Dark: darkTime, Stalled: stalled, Causes: map[string]int{}}
		var okEnds []time.Duration
		errs := map[string]bool{}
		gap := func(from, to time.Duration) {
			g := to - from
			r.RawLongestGap = max(r.RawLongestGap, g)
			if inDark(from, to) {
				return
			}
			if g > r.LongestGap {
				r.LongestGap, r.GapAt = g, to
			}
			if g > GapGoal {
				r.GapsOver++
				if stalledIn(from, to) > GapGoal/2 {
					r.GapsOverStalled++
				} else {
					r.LongGaps = append(r.LongGaps, Span{from, to})
				}
			}
		}
		for _, calls := range lg.Clients {
			if len(calls) == 0 {
				continue
			}
			last := calls[0].Start
			for _, c := range calls {
				ok := c.Err == "" && c.End-c.Start <= deadline
				if ok && seen[c.ID] > 1 {
					r.Duplicates++
				}
				r.RawCalls++
				if ok {
					r.RawAnswered++
					gap(last, c.End)
					last = c.End
					okEnds = append(okEnds, c.End)
				}
				if inDark(c.Start, c.End) {
					continue
				}
				r.Calls++
				if ok {
					r.Answered++
					continue
				}
				r.FailedTime += c.End - c.Start
				r.Causes[failureCause(c.Err)]++
				if e := shortErr(c.Err); !errs[e] && len(r.ErrSamples) < maxSamples {
					errs[e] = true
					r.ErrSamples = append(r.ErrSamples, fmt.Sprintf("at %.2fs after %v: %s", c.End.Seconds(), (c.End-c.Start).Round(time.Millisecond), e))
				}
			}
			end := calls[len(calls)-1].End
			gap(last, end)
			r.ClientTime += max(end-calls[0].Start-darkTime, 0)
		}
		slices.SortFunc(r.LongGaps, func(a, b Span) int { return cmp.Compare(b.To-b.From, a.To-a.From) })
		r.LongGaps = r.LongGaps[:min(len(r.LongGaps), 8)]
		slices.Sort(okEnds)
		for i := 1; i < len(okEnds); i++ {
			if !inDark(okEnds[i-1], okEnds[i]) {
				r.LongestGapAny = max(r.LongestGapAny, okEnds[i]-okEnds[i-1])
			}
		}
		out = append(out, r)
	}
	return out
}

// failureCause sorts a failed call by its error: every server answered with a failure (refused,
// 503, …) before the call gave up; the call's deadline passed while servers were asked; or other.
func failureCause(err string) string {
	switch {
	case err == "":
		return "late answer"
	case strings.Contains(err, "servers failed"):
		return "every server failed"
	case strings.Contains(err, "deadline exceeded"):
		return "deadline passed"
	}
	return "other"
}

// shortErr keeps the first line of an error, clipped.
func shortErr(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// AnsweredRatio is the share of calls answered within their deadline, outside dark time.
func (r AvailReport) AnsweredRatio() float64 { return ratio(r.Answered, r.Calls) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// FailedRatio is the share of the clients' time spent in calls that returned no ID, outside dark
// time.
func (r AvailReport) FailedRatio() float64 {
	if r.ClientTime <= 0 {
		return 0
	}
	return float64(r.FailedTime) / float64(r.ClientTime)
}

// Summary is the report's line.
func (r AvailReport) Summary() string {
	return fmt.Sprintf("avail: client=%s calls=%d answered=%.4f%% time_without_ids=%.3f%% longest_gap_ms=%d longest_gap_any_ms=%d gaps_over_100ms=%d duplicates=%d "+
		"no_server_ms=%d one_server_ms=%d raw_answered=%.4f%% raw_longest_gap_ms=%d stalled_ms=%d gaps_over_100ms_in_stalls=%d hedged=%d discarded=%d refused=%d",
		r.Kind, r.Calls, 100*r.AnsweredRatio(), 100*r.FailedRatio(), r.LongestGap.Milliseconds(), r.LongestGapAny.Milliseconds(),
		r.GapsOver, r.Duplicates, r.Dark.Milliseconds(), r.Alone.Milliseconds(), 100*ratio(r.RawAnswered, r.RawCalls), r.RawLongestGap.Milliseconds(),
		r.Stalled.Milliseconds(), r.GapsOverStalled, r.Counters.Hedged, r.Counters.Discarded, r.Counters.Refused)
}

// Dark returns the buckets of 100 ms between from and to in which no server answered any request of
// the pullers, by their start since the fleet started: time in which no server was healthy, so that
// no client could get an ID. alone is the time in which only one server answered.
func Dark(lg *Log, from, to time.Duration) (dark []time.Duration, alone time.Duration) {
	up := map[int64]map[int]bool{}
	for _, q := range lg.Requests {
		b := int64(q.End / bucket)
		if up[b] == nil {
			up[b] = map[int]bool{}
		}
		up[b][q.Server] = true
	}
	for b := int64(from/bucket) + 1; b < int64(to/bucket); b++ {
		switch len(up[b]) {
		case 0:
			dark = append(dark, time.Duration(b)*bucket)
		case 1:
			alone += bucket
		}
	}
	return dark, alone
}
