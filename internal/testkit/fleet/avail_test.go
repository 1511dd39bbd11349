package fleet

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// availKinds are the client configurations measured: the default client (failover), the same with
// prefetch, and round-robin.
func availKinds() []ClientKind {
	kinds := []ClientKind{
		{Name: "default"},
		{Name: "prefetch", Options: []client.Option{client.WithPrefetch(8192, 2048, time.Second)}, Prefetch: true},
		{Name: "roundrobin", Options: []client.Option{client.WithPolicy(client.RoundRobin)}},
	}
	if os.Getenv("SNOWFALL_AVAIL_TIMEOUT250") == "1" {
		kinds = append(kinds, ClientKind{Name: "timeout250ms", Options: []client.Option{client.WithTimeout(250 * time.Millisecond)}})
	}
	return kinds
}

// availDeadline is the deadline of every call.
const availDeadline = time.Second

// TestFleetAvailability measures availability as clients built with package client see it: 8
// clients of each kind, each given all four servers of the PostgreSQL fleet (stable addresses),
// call NextID with a 1 s deadline while the fleet's fault schedule runs (SIGKILL, SIGSTOP, SIGTERM,
// database cuts, two servers skewed by ±5 s). It prints an avail: line per kind.
//
// The long form (SNOWFALL_FLEET_LONG=1, SNOWFALL_FLEET_DURATION) repeats rounds of faults:
//
//	SNOWFALL_FLEET_LONG=1 SNOWFALL_FLEET_DURATION=5m go test -v -run 'TestFleetAvailability$' -timeout 0 ./internal/testkit/fleet
func TestFleetAvailability(t *testing.T) {
	v := runVariant(t)
	// Probes of 500 ms (a lease of 1 s), not the fault suite's 200 ms: with 200 ms the servers'
	// own renewals came late while go test ran other packages beside this one on 2 cores, and all
	// four fenced at once in the first second (CI run 8: a 678 ms gap before the first fault). The
	// faults are what this test measures, not an overloaded host.
	const probe = 500 * time.Millisecond
	const lease = 2 * probe
	cfg := Config{
		Bin:      snowfallBin(t),
		DB:       testdb.Postgres(),
		Group:    fmt.Sprintf("fleet_avail_%d", time.Now().UnixNano()%1e12),
		Servers:  4,
		Probe:    probe,
		Offsets:  []time.Duration{0, -skew, skew, 0},
		NewProxy: newProxy,
		Logf:     t.Logf,
	}
	dir, err := os.MkdirTemp("", "snowfall-fleet-avail-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	cfg.Dir = dir
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			f.Close()
		}
	}()

	loadCtx, stopLoad := context.WithCancel(ctx)
	var (
		lg     *Log
		logs   []*AvailLog
		avErr  error
		pulled = make(chan struct{})
		called = make(chan struct{})
	)
	// The pullers ask each slot directly: they show when no server at all could answer.
	go func() {
		defer close(pulled)
		lg = f.Pull(loadCtx, Load{PerServer: 1, Pause: 4 * time.Millisecond, MaxBatch: 64, Timeout: time.Second, Seed: v.seed})
	}()
	ld := AvailLoad{Kinds: availKinds(), Clients: 8, Deadline: availDeadline, Pause: 10 * time.Millisecond}
	go func() {
		defer close(called)
		logs, avErr = f.PullClients(loadCtx, ld)
	}()
	var stalls []Span
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		stalls = f.WatchStalls(loadCtx)
	}()
	from := f.Since()
	sleep(ctx, 2*time.Second)
	faults, scriptErr := f.Inject(ctx, Plan{Seed: v.seed, Lease: lease, Hold: 3 * lease, Settle: 1500 * time.Millisecond,
		Rounds: v.rounds, Until: v.until})
	sleep(ctx, 2*time.Second)
	stopLoad()
	<-pulled
	<-called
	<-watched
	to := f.Since()
	end := time.Now()
	closed = true
	closeErr := f.Close()
	if scriptErr != nil {
		t.Errorf("injecting faults: %v", scriptErr)
	}
	if closeErr != nil {
		t.Errorf("stopping the fleet: %v", closeErr)
	}
	if avErr != nil {
		t.Fatal(avErr)
	}

	// Every ID anyone received, for duplicates; the calls of clients that do not prefetch join the
	// pullers' requests for the order check (a call's answer was requested within the call).
	seen := map[snowfall.ID]int{}
	all := &Log{Requests: lg.Requests, Failures: lg.Failures}
	for _, q := range lg.Requests {
		for _, id := range q.IDs {
			seen[id]++
		}
	}
	proc := -1
	for _, al := range logs {
		for _, calls := range al.Clients {
			for _, c := range calls {
				if c.Err != "" {
					continue
				}
				seen[c.ID]++
				if !al.Kind.Prefetch {
					all.Requests = append(all.Requests, Request{Server: -1, Process: proc, Start: c.Start, End: c.End, IDs: []snowfall.ID{c.ID}})
					proc--
				}
			}
		}
	}
	w := Window{From: f.StartTime().Add(-skew - time.Second), To: end.Add(skew + time.Second)}
	r := Check(all, snowfall.DefaultLayout(), w, cfg.Servers)
	printSummary(t, r.Summary("avail-postgres", faults))
	if !r.OK() {
		t.Errorf("the fleet broke its guarantees (logs in %s):\n%s", dir, r.Problems())
	}
	// Dark time counts from the start of the load: the start-up is checked like the rest (a gap
	// in it was once let pass as a warm-up).
	dark, alone := Dark(lg, from, to)
	if len(dark) > 0 {
		t.Logf("no server answered the pullers in the 100 ms from each of %v", dark)
	}
	for _, ar := range CheckAvail(logs, seen, availDeadline, dark, stalls) {
		ar.Alone = alone
		printSummary(t, ar.Summary())
		for _, s := range ar.ErrSamples {
			t.Logf("%s: %s", ar.Kind, s)
		}
		if len(ar.Causes) > 0 {
			t.Logf("%s: failed calls by cause: %v", ar.Kind, ar.Causes)
		}
		t.Logf("%s: longest gap of one client ended at %.2fs", ar.Kind, ar.GapAt.Seconds())
		for _, g := range ar.LongGaps {
			t.Logf("%s: no ID for %v from %.2fs, the process running", ar.Kind, (g.To - g.From).Round(time.Millisecond), g.From.Seconds())
		}
		if ar.Duplicates != 0 {
			t.Errorf("%s: %d duplicate IDs", ar.Kind, ar.Duplicates)
		}
		if ar.Calls == 0 {
			t.Errorf("%s: no calls", ar.Kind)
		}
		if ar.Counters.Refused != 0 {
			t.Errorf("%s: %d answers of a sound fleet refused as out of order", ar.Kind, ar.Counters.Refused)
		}
		// The goals (GapGoal, 99.99 %) are what the lines report; on a loaded machine a stall of
		// the test process alone can pass 100 ms, so the test fails only on what no stall explains:
		// a client without an ID for half a call's deadline (what a hung server cost before the
		// client bounded and hedged its attempts), or calls failing, while some server answered.
		// (It failed on LongestGap before, stalls of this process included.)
		if len(ar.LongGaps) > 0 {
			if g := ar.LongGaps[0]; g.To-g.From >= availDeadline/2 {
				t.Errorf("%s: a client went %v without an ID (from %.2fs) while servers answered and this process ran", ar.Kind, (g.To - g.From).Round(time.Millisecond), g.From.Seconds())
			}
		}
		if ar.AnsweredRatio() < 0.999 {
			t.Errorf("%s: %.4f%% of calls answered while servers answered, want at least 99.9%%", ar.Kind, 100*ar.AnsweredRatio())
		}
	}
}
