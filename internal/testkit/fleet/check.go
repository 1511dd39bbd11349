// Package fleet runs a fleet of snowfall serve processes on loopback ports, pulls IDs from all of
// them while it injects faults (SIGKILL and restart, SIGSTOP past the lease, the database cut off,
// skewed clocks, SIGTERM and takeover) and checks every ID it received: no duplicates, IDs of one
// generator id increasing in the order they were issued, and times within the run.
//
// The tests in fleet_test.go drive it against PostgreSQL and MariaDB; the checker in this file
// works on any recorded stream and is unit-tested on synthetic ones. avail.go measures the same
// faults as clients built with package client see them: calls answered within their deadline and
// spans without an ID (TestFleetAvailability).
package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Request is one answered ID request as a client saw it.
type Request struct {
	Server  int           // the fleet slot asked
	Process int           // the process incarnation asked, unique over the run
	Start   time.Duration // when the request was sent, since the run began
	End     time.Duration // when the answer was read
	IDs     []snowfall.ID // in the order of the answer
}

// Failure is one ID request that got no IDs.
type Failure struct {
	Server int
	At     time.Duration // when the client gave up, since the run began
}

// Log is what the clients recorded.
type Log struct {
	Requests []Request
	Failures []Failure
}

// Window bounds the times IDs may decode to.
type Window struct {
	From, To time.Time
}

// Report is the outcome of Check.
type Report struct {
	IDs        int
	Requests   int
	Failures   int
	Duplicates int      // IDs received more than once, counting each extra copy
	DupSamples []string // a few duplicates with where they came from
	// OrderViolations counts IDs of a generator id that are not above an ID of the same generator
	// id whose answer arrived before their request was sent, or not increasing within one answer.
	OrderViolations int
	OrderSamples    []string
	OutOfWindow     int
	WindowSamples   []string
	// Generators counts the generator ids seen; Takeovers those served by more than one process.
	Generators int
	Takeovers  int
	// Unavailable is, per server slot, the time in which its requests failed and none succeeded.
	Unavailable []time.Duration
}

// OK reports whether no check failed.
func (r *Report) OK() bool { return r.Duplicates == 0 && r.OrderViolations == 0 && r.OutOfWindow == 0 }

const maxSamples = 5

// bucket is the resolution of unavailable time.
const bucket = 100 * time.Millisecond

// Check checks every ID in lg: decoded with layout, each must be unique, within w, and above every
// ID of its generator id whose answer arrived before its request was sent. servers is the number of
// server slots.
func Check(lg *Log, layout snowfall.Layout, w Window, servers int) *Report {
	r := &Report{Requests: len(lg.Requests), Failures: len(lg.Failures)}
	r.checkDuplicates(lg)
	r.checkOrder(lg, layout, w)
	r.unavailable(lg, servers)
	return r
}

func (r *Report) checkDuplicates(lg *Log) {
	var all []snowfall.ID
	for _, q := range lg.Requests {
		all = append(all, q.IDs...)
	}
	r.IDs = len(all)
	slices.Sort(all)
	var dups []snowfall.ID
	for i := 1; i < len(all); i++ {
		if all[i] == all[i-1] {
			r.Duplicates++
			if len(dups) == 0 || dups[len(dups)-1] != all[i] {
				dups = append(dups, all[i])
			}
		}
	}
	if len(dups) > maxSamples {
		dups = dups[:maxSamples]
	}
	for _, d := range dups {
		var from []string
		for _, q := range lg.Requests {
			if slices.Contains(q.IDs, d) {
				from = append(from, fmt.Sprintf("server %d process %d at %v", q.Server, q.Process, q.End.Round(time.Millisecond)))
			}
		}
		r.DupSamples = append(r.DupSamples, fmt.Sprintf("%d from %s", d, strings.Join(from, ", ")))
	}
}

// span is the IDs of one generator id in one answer.
type span struct {
	start, end time.Duration
	lo, hi     snowfall.ID
	process    int
}

func (r *Report) checkOrder(lg *Log, layout snowfall.Layout, w Window) {
	lo, hi := layout.Ticks(w.From), layout.Ticks(w.To)
	byGen := map[int64][]span{}
	for _, q := range lg.Requests {
		last := map[int64]snowfall.ID{}
		for _, id := range q.IDs {
			p, err := layout.Decode(id)
			if err != nil || layout.Ticks(p.Time) < lo || layout.Ticks(p.Time) > hi {
				r.OutOfWindow++
				if len(r.WindowSamples) < maxSamples {
					r.WindowSamples = append(r.WindowSamples, fmt.Sprintf("%d from server %d decodes to %s, window [%s, %s]",
						id, q.Server, p.Time.Format(time.RFC3339Nano), w.From.UTC().Format(time.RFC3339Nano), w.To.UTC().Format(time.RFC3339Nano)))
				}
				continue
			}
			g := p.Generator<<32 | p.DC<<16 | p.Worker
			if prev, ok := last[g]; ok && id <= prev {
				r.order(fmt.Sprintf("%d after %d in one answer of server %d process %d", id, prev, q.Server, q.Process))
			}
			last[g] = id
			spans := byGen[g]
			if n := len(spans); n > 0 && spans[n-1].start == q.Start && spans[n-1].process == q.Process && spans[n-1].end == q.End {
				spans[n-1].lo = min(spans[n-1].lo, id)
				spans[n-1].hi = max(spans[n-1].hi, id)
				continue
			}
			byGen[g] = append(spans, span{q.Start, q.End, id, id, q.Process})
		}
	}
	r.Generators = len(byGen)
	for g, spans := range byGen {
		procs := map[int]bool{}
		for _, s := range spans {
			procs[s.process] = true
		}
		if len(procs) > 1 {
			r.Takeovers++
		}
		r.checkRealTime(g, spans)
	}
}

// checkRealTime checks that every span is above every span of the same generator id that ended
// before it started.
func (r *Report) checkRealTime(gen int64, spans []span) {
	byStart := slices.Clone(spans)
	slices.SortFunc(byStart, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	byEnd := spans
	slices.SortFunc(byEnd, func(a, b span) int { return cmp.Compare(a.end, b.end) })
	var top snowfall.ID = -1
	var topSpan span
	j := 0
	for _, s := range byStart {
		for j < len(byEnd) && byEnd[j].end < s.start {
			if byEnd[j].hi > top {
				top, topSpan = byEnd[j].hi, byEnd[j]
			}
			j++
		}
		if s.lo <= top {
			r.order(fmt.Sprintf("generator %d: %d from process %d (sent at %v) not above %d from process %d (answered at %v)",
				gen>>32, s.lo, s.process, s.start.Round(time.Millisecond), top, topSpan.process, topSpan.end.Round(time.Millisecond)))
		}
	}
}

func (r *Report) order(msg string) {
	r.OrderViolations++
	if len(r.OrderSamples) < maxSamples {
		r.OrderSamples = append(r.OrderSamples, msg)
	}
}

func (r *Report) unavailable(lg *Log, servers int) {
	ok := make([]map[int64]bool, servers)
	bad := make([]map[int64]bool, servers)
	for i := range servers {
		ok[i], bad[i] = map[int64]bool{}, map[int64]bool{}
	}
	for _, q := range lg.Requests {
		if q.Server >= 0 && q.Server < servers {
			ok[q.Server][int64(q.End/bucket)] = true
		}
	}
	for _, f := range lg.Failures {
		if f.Server >= 0 && f.Server < servers {
			bad[f.Server][int64(f.At/bucket)] = true
		}
	}
	r.Unavailable = make([]time.Duration, servers)
	for i := range servers {
		for b := range bad[i] {
			if !ok[i][b] {
				r.Unavailable[i] += bucket
			}
		}
	}
}

// Summary returns the one-line summary: IDs checked, faults by kind, duplicates, order and window
// violations, and unavailable seconds per server.
func (r *Report) Summary(name string, faults map[string]int) string {
	kinds := make([]string, 0, len(faults))
	for k := range faults {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	fmt.Fprintf(&b, "fleet %s: ids=%d requests=%d failed=%d faults[", name, r.IDs, r.Requests, r.Failures)
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, faults[k])
	}
	fmt.Fprintf(&b, "] duplicates=%d order_violations=%d out_of_window=%d generators=%d takeovers=%d unavailable_s[",
		r.Duplicates, r.OrderViolations, r.OutOfWindow, r.Generators, r.Takeovers)
	for i, d := range r.Unavailable {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "s%d=%.1f", i, d.Seconds())
	}
	b.WriteByte(']')
	return b.String()
}

// Problems returns the samples of every failed check, one per line.
func (r *Report) Problems() string {
	var lines []string
	for _, s := range r.DupSamples {
		lines = append(lines, "duplicate: "+s)
	}
	for _, s := range r.OrderSamples {
		lines = append(lines, "order: "+s)
	}
	for _, s := range r.WindowSamples {
		lines = append(lines, "window: "+s)
	}
	return strings.Join(lines, "\n")
}

// Tenures describes, one line per process and generator id, when the clients saw that process
// issue with that generator id: evidence of which ids were taken over from whom.
func Tenures(lg *Log, layout snowfall.Layout) []string {
	type key struct {
		proc, server int
		gen          int64
	}
	type seen struct{ first, last time.Duration }
	m := map[key]*seen{}
	for _, q := range lg.Requests {
		for _, id := range q.IDs {
			p, err := layout.Decode(id)
			if err != nil {
				continue
			}
			k := key{q.Process, q.Server, p.Generator<<32 | p.DC<<16 | p.Worker}
			if s := m[k]; s != nil {
				s.first, s.last = min(s.first, q.End), max(s.last, q.End)
			} else {
				m[k] = &seen{q.End, q.End}
			}
		}
	}
	keys := make([]key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.gen, b.gen), cmp.Compare(m[a].first, m[b].first))
	})
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("generator %d: server %d process %d from %.1fs to %.1fs",
			k.gen>>32, k.server, k.proc, m[k].first.Seconds(), m[k].last.Seconds())
	}
	return lines
}
