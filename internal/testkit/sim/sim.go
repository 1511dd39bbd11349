package sim

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// The simulated fleet.
const (
	slots      = 5                   // holder hosts
	workers    = 2                   // goroutines issuing IDs on each holder
	probe      = time.Second         // lease 2 s, margin 200 ms (the defaults for this probe)
	lease      = 2 * probe           //
	stallAfter = 5 * lease           // how long a right clock may stay in ClockBackwardsError
	poolSize   = int64(1) << genBits // generator ids in the manifest
	genBits    = 3                   //
	runFor     = 40 * time.Second    // virtual time per seed
	dbSteps    = 5 * time.Second     // the database clock stays within this of the true time
	maxReports = 20                  // violations kept per seed
)

// layout is small on purpose: 8 generator ids for 5 holders keeps ids changing hands, and 256 IDs per
// millisecond makes Fill cross ticks. Its epoch lies before the bubble's clock (2000-01-01).
var layout = func() snowfall.Layout {
	l, err := snowfall.NewLayout([]snowfall.Field{{Kind: snowfall.FieldTime, Bits: 52},
		{Kind: snowfall.FieldSequence, Bits: 8}, {Kind: snowfall.FieldGenerator, Bits: genBits}},
		time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC), time.Millisecond)
	if err != nil {
		panic(err)
	}
	return l
}()

// Stream tags: each kind of decision maker draws from its own stream.
const (
	tagDB uint64 = iota + 1
	tagSlot
	tagLink
	tagChaos
	tagWorker
)

// Violation is one broken guarantee.
type Violation struct {
	Kind   string        // duplicate, order, fence, after-release, mark-lowered, revived, stall
	At     time.Duration // virtual time since the start of the run
	Detail string
}

func (v Violation) String() string { return fmt.Sprintf("%s at %v: %s", v.Kind, v.At, v.Detail) }

// Result is what one seed's run saw.
type Result struct {
	Seed       uint64
	IDs        int
	Faults     map[string]int // by kind; "holders" counts the incarnations that got a lease
	Violations map[string]int // by kind
	Causes     map[string]int // duplicates and order violations by kind:cause (see cause)
	Reports    []Violation    // the first few, in the order found
}

// Failed reports whether the run found any violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

// sim is one run.
type sim struct {
	seed  uint64
	opts  Options
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup
	m     *model

	mu   sync.Mutex
	res  Result
	recs []record
	byID map[snowfall.ID]int // index in recs
	dups [][2]record
}

// record is one issued ID.
type record struct {
	id     snowfall.ID
	inst   *instance
	worker int
	start  time.Time
	end    time.Time
}

// Options put defects back at the simulation's seams, to prove that its checks see them. The zero
// value puts none back.
type Options struct {
	// UnconditionedReplays makes the store apply a duplicated claim to the row as it is when the
	// duplicate arrives (its version and mark then), as a store that does not condition claims on
	// the state the claimer read would: issue 18, defect 4.
	UnconditionedReplays bool
}

// Run runs the simulation of seed to the end of its virtual time and checks what it issued. It must
// be called inside a testing/synctest bubble (synctest.Test), whose fake clock is the true time.
func Run(seed uint64) *Result { return RunWith(seed, Options{}) }

// RunWith is Run with defects put back as o says.
func RunWith(seed uint64, o Options) *Result {
	s := &sim{seed: seed, opts: o, start: time.Now(), done: make(chan struct{}), byID: map[snowfall.ID]int{},
		res: Result{Seed: seed, Faults: map[string]int{}, Violations: map[string]int{}, Causes: map[string]int{}}}
	s.m = newModel(s)
	s.wg.Add(1)
	go s.database()
	for i := range slots {
		s.wg.Add(1)
		go (&slot{s: s, i: i, clk: newClock()}).run()
	}
	time.Sleep(runFor)
	close(s.done)
	s.wg.Wait()
	s.check()
	s.res.IDs = len(s.recs)
	return &s.res
}

// database steps the store's clock.
func (s *sim) database() {
	defer s.wg.Done()
	r := s.stream(tagDB)
	for {
		s.sleep(ms(500 + r.IntN(4500)))
		if s.over() {
			return
		}
		s.count("db-step")
		s.m.stepDB(time.Duration(r.Int64N(int64(2*dbSteps+1))) - dbSteps)
	}
}

// stream returns the seeded stream of one decision maker.
func (s *sim) stream(tags ...uint64) *rand.Rand {
	h := uint64(0x9e3779b97f4a7c15)
	for _, t := range tags {
		h = (h ^ (t + 1)) * 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	return rand.New(rand.NewPCG(s.seed, h))
}

// sleep waits for d or the end of the run.
func (s *sim) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

func (s *sim) over() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *sim) count(kind string) {
	s.mu.Lock()
	s.res.Faults[kind]++
	s.mu.Unlock()
}

func (s *sim) violate(kind, format string, args ...any) {
	s.violateAt(time.Now(), kind, format, args...)
}

// violateAt records a violation that happened at t.
func (s *sim) violateAt(t time.Time, kind, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.res.Violations[kind]++
	if len(s.res.Reports) < maxReports {
		s.res.Reports = append(s.res.Reports, Violation{Kind: kind, At: t.Sub(s.start), Detail: fmt.Sprintf(format, args...)})
	}
}

// issued records IDs as their call returns, and reports an ID seen before at once.
func (s *sim) issued(inst *instance, w int, ids []snowfall.ID, start time.Time) {
	if len(ids) == 0 {
		return
	}
	end := time.Now()
	s.mu.Lock()
	var dups []string
	for _, id := range ids {
		if j, ok := s.byID[id]; ok {
			o := s.recs[j]
			s.dups = append(s.dups, [2]record{o, {id: id, inst: inst, worker: w, start: start, end: end}})
			dups = append(dups, fmt.Sprintf("%d %s issued by h%d/%d (call %s-%s) and by h%d/%d (call %s-%s)", id, describe(id),
				o.inst.slot, o.inst.inc, stamp(o.start), stamp(o.end), inst.slot, inst.inc, stamp(start), stamp(end)))
			continue
		}
		s.byID[id] = len(s.recs)
		s.recs = append(s.recs, record{id: id, inst: inst, worker: w, start: start, end: end})
	}
	s.mu.Unlock()
	for _, d := range dups {
		s.violate("duplicate", "%s", d)
	}
}

func describe(id snowfall.ID) string {
	p, _ := layout.Decode(id)
	return fmt.Sprintf("(gen %d tick %s seq %d)", p.Generator, stamp(p.Time), p.Sequence)
}

// Summary adds up the results of many seeds.
type Summary struct {
	Seeds      int
	IDs        int
	Faults     map[string]int
	Violations map[string]int
	Causes     map[string]int
	First      map[string]uint64 // the first seed that found each kind (and kind:cause)
	Found      map[string]int    // how many seeds found each kind (and kind:cause)
	Elapsed    time.Duration     // wall time
}

// Add counts r.
func (s *Summary) Add(r *Result) {
	if s.Faults == nil {
		s.Faults, s.Violations, s.Causes, s.First, s.Found = map[string]int{}, map[string]int{}, map[string]int{}, map[string]uint64{}, map[string]int{}
	}
	s.Seeds++
	s.IDs += r.IDs
	for k, v := range r.Faults {
		s.Faults[k] += v
	}
	for k, v := range r.Violations {
		s.Violations[k] += v
		s.Found[k]++
		if _, ok := s.First[k]; !ok {
			s.First[k] = r.Seed
		}
	}
	for k, v := range r.Causes {
		s.Causes[k] += v
		s.Found[k]++
		if _, ok := s.First[k]; !ok {
			s.First[k] = r.Seed
		}
	}
}

// String is the summary line: sim: seeds=N ids=N holders=N faults[kind=N …] duplicates=N
// order_violations=N, the other violations, and schedules (seeds) per second of wall time.
func (s *Summary) String() string { return s.Line("sim") }

// Line is String with another name in front, for searches with a defect put back.
func (s *Summary) Line(name string) string {
	var f []string
	for _, k := range slices.Sorted(maps.Keys(s.Faults)) {
		if k != "holders" {
			f = append(f, fmt.Sprintf("%s=%d", k, s.Faults[k]))
		}
	}
	v := s.Violations
	rate := float64(s.Seeds) / max(s.Elapsed.Seconds(), 1e-9)
	return fmt.Sprintf("%s: seeds=%d ids=%d holders=%d faults[%s] duplicates=%d order_violations=%d "+
		"fence_violations=%d after_release=%d marks_lowered=%d revived=%d stalls=%d schedules_per_s=%.2f (%v virtual each)",
		name, s.Seeds, s.IDs, s.Faults["holders"], strings.Join(f, " "), v["duplicate"], v["order"],
		v["fence"], v["after-release"], v["mark-lowered"], v["revived"], v["stall"], rate, runFor)
}
