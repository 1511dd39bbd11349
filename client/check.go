package client

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// checker refuses IDs that break the invariants every Snowfall fleet keeps: an ID is issued once,
// the IDs of one generator (one value of the node fields: gen, or dc and worker) increase in the
// order they are issued, across processes and takeovers, and no ID is dated ahead of real time by
// more than the clocks of a fleet disagree. A client cannot know the issue order of answers that
// crossed in flight, so it checks what real time proves:
//
//   - an ID must be above every ID of its generator whose answer the client accepted before the
//     request was sent (the generator's floor for that request);
//   - an ID must not be one of an answer accepted while the request was in flight: those answers'
//     IDs are kept, exactly, until no request sent before them is in flight, and then fold into
//     the floor;
//   - an ID's time must not be past the client's clock plus maxSkew, so that no answer raises a
//     floor further than maxSkew ahead of real time, and a floor blocks honest IDs of its generator
//     for at most maxSkew.
//
// Every ID handed to a caller went through accept, so none is handed out twice. The checks need
// the layout to find the node and time fields: given with WithLayout, or learned from GET /stats
// (see learn.go). Until it is known, the IDs of each answer are checked against each other only.
type checker struct {
	skew time.Duration
	now  func() time.Time

	mu       sync.Mutex
	seq      uint64         // answers accepted; an attempt notes it when its request is sent
	inflight map[uint64]int // requests in flight, by the count noted when they were sent
	known    bool           // the layout is known: IDs are checked
	layout   snowfall.Layout
	mask     uint64 // the node bits of the layout
	keys     map[uint64]*history
	crossed  int // IDs held in histories' answers, all generators

	// Before the layout is known: the IDs accepted (up to maxCrossed, the latest), refused if
	// repeated, and folded into their generators' floors when the layout becomes known; after,
	// those too far ahead to be a floor, still refused if repeated.
	early     map[snowfall.ID]struct{}
	earlyList []snowfall.ID

	learn    learnState    // guarded by mu
	retryMin time.Duration // the first pause before GET /stats is asked again
}

// maxGenerators bounds the generators a checker remembers; past it, the one accepted longest ago
// is forgotten for each new one (a hostile server sending IDs of made-up generators costs the
// check of an idle generator, not memory).
const maxGenerators = 4096

// maxCrossed bounds the IDs a checker holds exactly, of answers that crossed requests still in
// flight; past it, the oldest fold into their generator's floor. A request that crossed more than
// that many IDs then gets its honest answer refused (it asks another server): less available,
// never wrong.
const maxCrossed = 1 << 16

func newChecker(l snowfall.Layout, pinned bool, skew time.Duration, now func() time.Time) *checker {
	k := &checker{keys: map[uint64]*history{}, inflight: map[uint64]int{}, skew: skew, now: now,
		early: map[snowfall.ID]struct{}{}, retryMin: learnRetryMin}
	if pinned {
		k.setLayout(l)
	}
	return k
}

// setLayout makes k check IDs under l; mu must be held or k not yet shared.
func (k *checker) setLayout(l snowfall.Layout) {
	k.layout, k.known = l, true
	k.mask = nodeMask(l)
}

// layoutKnown reports whether IDs are checked against their generators.
func (k *checker) layoutKnown() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.known
}

// nodeMask returns the bits of l's node fields.
func nodeMask(l snowfall.Layout) uint64 {
	var m uint64
	shift := l.Width()
	for _, f := range l.Fields() {
		shift -= f.Bits
		if f.Kind != snowfall.FieldTime && f.Kind != snowfall.FieldSequence {
			m |= (1<<f.Bits - 1) << shift
		}
	}
	return m
}

// sent notes a request sent now and returns the count of accepted answers, which the request's
// answer is checked with; done must follow once the answer was checked or dropped.
func (k *checker) sent() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inflight[k.seq]++
	return k.seq
}

// done notes that the request sent at count seq is no longer in flight.
func (k *checker) done(seq uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if n := k.inflight[seq]; n > 1 {
		k.inflight[seq] = n - 1
	} else {
		delete(k.inflight, seq)
	}
}

// oldest returns the smallest count of a request in flight, or the current count when none is;
// mu must be held.
func (k *checker) oldest() uint64 {
	m := k.seq
	for s := range k.inflight {
		m = min(m, s)
	}
	return m
}

// timeOf returns the Unix millisecond at which id's tick starts, under the layout; an ID the
// layout cannot decode counts as dated at the end of time.
func (k *checker) timeOf(id snowfall.ID) int64 {
	d, err := k.layout.Decode(id)
	if err != nil {
		return 1<<63 - 1
	}
	return d.Time.UnixMilli()
}

// accept checks the IDs of one answer of server, whose request was sent when the count was seq,
// and records them if none is refused. ids must increase.
func (k *checker) accept(server string, ids []snowfall.ID, seq uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if !k.known {
		return k.acceptEarly(server, ids)
	}
	if k.skew > 0 {
		limit := k.now().Add(k.skew)
		// IDs increase, and the time field is their highest field: the last ID is the latest.
		if ms := k.timeOf(ids[len(ids)-1]); ms > limit.UnixMilli() {
			return &FutureError{Server: server, ID: ids[len(ids)-1], Time: time.UnixMilli(ms).UTC(), Skew: k.skew}
		}
	}
	for _, id := range ids {
		if len(k.early) == 0 {
			break
		}
		if _, dup := k.early[id]; dup {
			return &OrderError{Server: server, ID: id, Prev: id}
		}
	}
	oldest := k.oldest()
	for _, run := range k.runs(ids) {
		h := k.keys[run.key]
		if h == nil {
			continue
		}
		h.fold(oldest)
		if prev, bad := h.refuses(run.ids, seq); bad {
			return &OrderError{Server: server, ID: prev.id, Prev: prev.prev}
		}
	}
	// With no other request in flight, no answer can cross this one: its IDs go to the floor at
	// once, unkept.
	alone := len(k.inflight) == 1 && k.inflight[seq] == 1
	for _, run := range k.runs(ids) {
		k.record(run.key, run.ids, alone)
	}
	k.seq++
	return nil
}

// acceptEarly checks and records ids while the layout is unknown: an ID accepted before is a
// repeat; mu must be held.
func (k *checker) acceptEarly(server string, ids []snowfall.ID) error {
	for _, id := range ids {
		if _, dup := k.early[id]; dup {
			return &OrderError{Server: server, ID: id, Prev: id}
		}
	}
	for _, id := range ids {
		if len(k.earlyList) >= maxCrossed {
			delete(k.early, k.earlyList[0])
			k.earlyList = k.earlyList[1:]
		}
		k.early[id] = struct{}{}
		k.earlyList = append(k.earlyList, id)
	}
	k.seq++
	return nil
}

// foldEarly raises the floors of the generators of the IDs accepted before the layout became
// known to their largest ID not dated past the client's clock plus the skew; mu must be held and
// the layout known. Answers in flight that crossed them may be refused: less available, never
// wrong.
func (k *checker) foldEarly() {
	limit := k.now().Add(k.skew).UnixMilli()
	keep := map[snowfall.ID]struct{}{}
	for _, id := range k.earlyList {
		if k.skew > 0 && k.timeOf(id) > limit {
			// Too far ahead to be a floor: kept to be refused as a repeat (see accept).
			keep[id] = struct{}{}
			continue
		}
		g := uint64(id) & k.mask
		h := k.keys[g]
		if h == nil {
			k.record(g, []snowfall.ID{id}, true)
			h = k.keys[g]
			h.fold(k.seq + 1)
			continue
		}
		if !h.hasFloor || id > h.floor {
			h.floor, h.hasFloor = id, true
		}
	}
	k.early, k.earlyList = keep, nil
}

// run is the IDs of one generator within an answer, in order.
type run struct {
	key uint64
	ids []snowfall.ID
}

// runs splits ids by generator; an answer of one generator (the usual case) is one run that
// shares ids's array.
func (k *checker) runs(ids []snowfall.ID) []run {
	first := uint64(ids[0]) & k.mask
	mixed := false
	for _, id := range ids[1:] {
		if uint64(id)&k.mask != first {
			mixed = true
			break
		}
	}
	if !mixed {
		return []run{{first, ids}}
	}
	var out []run
	at := map[uint64]int{}
	for _, id := range ids {
		g := uint64(id) & k.mask
		i, ok := at[g]
		if !ok {
			i = len(out)
			at[g] = i
			out = append(out, run{key: g})
		}
		out[i].ids = append(out[i].ids, id)
	}
	return out
}

// record notes ids, accepted at the current count, as the latest answer of generator key, kept
// whole unless alone says no request in flight can cross it; mu must be held.
func (k *checker) record(key uint64, ids []snowfall.ID, alone bool) {
	h := k.keys[key]
	if h == nil {
		if len(k.keys) >= maxGenerators {
			var lru uint64
			var lruSeq uint64 = 1<<64 - 1
			for g, x := range k.keys {
				if x.last < lruSeq {
					lru, lruSeq = g, x.last
				}
			}
			k.crossed -= k.keys[lru].held
			delete(k.keys, lru)
		}
		h = &history{k: k}
		k.keys[key] = h
	}
	h.last = k.seq
	if alone && len(h.answers) == 0 {
		if top := ids[len(ids)-1]; !h.hasFloor || top > h.floor {
			h.floor, h.hasFloor = top, true
		}
		return
	}
	h.answers = append(h.answers, answer{seq: k.seq, ids: slices.Clone(ids)})
	h.held += len(ids)
	k.crossed += len(ids)
	for k.crossed > maxCrossed && h.held > 0 {
		h.foldOldest()
	}
}

// history is what a checker remembers of one generator: the floor, the largest of its IDs in
// answers accepted before every request in flight was sent, and the answers accepted since, whole.
type history struct {
	k        *checker
	floor    snowfall.ID
	hasFloor bool
	answers  []answer // in the order accepted
	held     int      // IDs in answers
	last     uint64   // the count at which the latest answer was accepted
}

// answer is the IDs of one generator in one accepted answer, increasing, and the count at which
// it was accepted.
type answer struct {
	seq uint64
	ids []snowfall.ID
}

// fold moves the answers that every request in flight was sent after (accepted before count
// oldest) into the floor: no answer in flight can cross them any more.
func (h *history) fold(oldest uint64) {
	for len(h.answers) > 0 && h.answers[0].seq < oldest {
		h.foldOldest()
	}
}

// foldOldest moves the oldest answer into the floor.
func (h *history) foldOldest() {
	a := h.answers[0]
	if top := a.ids[len(a.ids)-1]; !h.hasFloor || top > h.floor {
		h.floor, h.hasFloor = top, true
	}
	h.held -= len(a.ids)
	h.k.crossed -= len(a.ids)
	h.answers[0] = answer{}
	h.answers = h.answers[1:]
}

// refusal is an ID refused and the earlier ID of its generator it is not above (itself for a
// repeat).
type refusal struct{ id, prev snowfall.ID }

// refuses reports whether ids, increasing, of an answer to a request sent at count seq break the
// order: an ID at or below the floor or below an answer accepted before seq, or equal to an ID
// of an answer accepted since.
func (h *history) refuses(ids []snowfall.ID, seq uint64) (refusal, bool) {
	if h.hasFloor && ids[0] <= h.floor {
		return refusal{ids[0], h.floor}, true
	}
	for _, a := range h.answers {
		top := a.ids[len(a.ids)-1]
		if a.seq < seq {
			// Accepted before the request was sent: a floor for it.
			if ids[0] <= top {
				return refusal{ids[0], top}, true
			}
			continue
		}
		// Crossed in flight: honest answers of one generator may interleave, never share an ID.
		if ids[len(ids)-1] < a.ids[0] || ids[0] > top {
			continue
		}
		for _, id := range ids {
			if _, found := slices.BinarySearch(a.ids, id); found {
				return refusal{id, id}, true
			}
		}
	}
	return refusal{}, false
}

// accept checks and records the IDs of an answer of s (see checker.accept).
func (c *Client) accept(s *endpoint, ids []snowfall.ID, seq uint64) error {
	return c.check.accept(s.base, ids, seq)
}

// FutureError reports an answer refused because one of its IDs is dated further ahead of the
// client's clock than the allowed skew (WithMaxSkew): a server whose clock runs far ahead, or a
// hostile one. It matches ErrBadResponse.
type FutureError struct {
	Server string        // the server's base URL
	ID     snowfall.ID   // the ID refused
	Time   time.Time     // its time
	Skew   time.Duration // the allowed skew
}

func (e *FutureError) Error() string {
	return fmt.Sprintf("client: %s sent ID %d dated %s, more than %v ahead of the client's clock: a server clock far ahead or a broken server",
		e.Server, e.ID, e.Time.Format(time.RFC3339Nano), e.Skew)
}

// Is reports whether target is ErrBadResponse.
func (e *FutureError) Is(target error) bool { return target == ErrBadResponse }
