package client

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
)

// checker refuses IDs that break the invariants every Snowfall fleet keeps: an ID is issued once,
// the IDs of one generator (one value of the node fields: gen, or dc and worker) increase in the
// order they are issued, and no ID is dated ahead of real time by more than the clocks of a fleet
// disagree. An answer is judged by what its own server said: each server's IDs are decoded with
// that server's layout (learned from its own GET /stats, see learn.go, or given to all with
// WithLayout), and their order is checked against that server's earlier answers only, so that no
// server's answers refuse another server's but for repeats of IDs handed out (and old IDs from a
// server whose clock lags by more than maxSkew). A client cannot know the issue order of answers
// that crossed in flight, so it checks what real time proves:
//
//   - an ID must be above every ID of its generator, from the same server under the same layout,
//     whose answer the client accepted before the request was sent (the floor for that request);
//   - an ID must not be one of an answer of the same server accepted while the request was in
//     flight: those answers' IDs are kept, exactly, until no request sent before them is in flight,
//     and then fold into the floor;
//   - across servers, an ID must not be one of the last maxRecent IDs the client accepted from any
//     server (an exact repeat), and must not be both dated more than maxSkew before the client's
//     clock and at or below an ID of its generator (under the same layout) accepted from any server
//     (an old replay: an honest server's clock lags by less than maxSkew, so no ID a server hands
//     out can make an honest answer look that old);
//   - an ID's time must not be past the client's clock plus maxSkew.
//
// Every ID handed to a caller went through accept, so none is handed out twice by one server, nor
// by two within the window or once older than maxSkew. Until a server's layout is known, its IDs
// are checked within their answer and against the window; once it is known, its answers accepted
// before enter its histories as if it had been known when they came (foldEarly).
type checker struct {
	skew time.Duration
	now  func() time.Time

	// mu guards what accept checks and records; seqMu, taken after mu where both are, the count
	// of accepted answers and the requests in flight, so that sending a request never waits on
	// the check of another call's answer (red team F7: behind a batch of 100,000 IDs, calls with
	// a 5 ms deadline overran it). seq is written under both, read under either.
	mu       sync.Mutex
	seqMu    sync.Mutex
	seq      uint64         // answers accepted; an attempt notes it when its request is sent
	inflight map[uint64]int // requests in flight, by the count noted when they were sent
	learned  atomic.Bool    // every server's layout is known (or pinned): learnLayout has nothing to do
	pinned   *layoutInfo    // the layout of every server (WithLayout); nil to learn each one's
	servers  map[string]*serverCheck
	keys     map[histKey]*history
	crossed  int                       // runs held in histories' answers, all generators
	highest  map[sharedKey]snowfall.ID // the largest ID accepted per layout and generator, any server
	// forgot holds, per server and layout, the latest ID of the histories forgotten past
	// maxGenerators: an ID of a generator with no history, dated no later, may be a replay of a
	// forgotten one's and is refused.
	forgot map[forgotKey]snowfall.ID
	recent recentIDs // the last maxRecent IDs accepted, any server

	retryMin time.Duration // the first pause before GET /stats is asked again
}

// layoutInfo is a layout as the checker uses it.
type layoutInfo struct {
	layout snowfall.Layout
	mask   uint64 // the node bits
	key    string // spec and epoch: servers that report different layouts never share a floor
}

func newLayoutInfo(l snowfall.Layout) *layoutInfo {
	return &layoutInfo{layout: l, mask: nodeMask(l), key: l.Spec() + "@" + strconv.FormatInt(l.EpochMs(), 10)}
}

// timeOf returns the Unix millisecond at which id's tick starts, under l; an ID the layout cannot
// decode counts as dated at the end of time.
func (l *layoutInfo) timeOf(id snowfall.ID) int64 {
	d, err := l.layout.Decode(id)
	if err != nil {
		return 1<<63 - 1
	}
	return d.Time.UnixMilli()
}

// serverCheck is what a checker knows of one server.
type serverCheck struct {
	lay    *layoutInfo   // nil until known
	learn  learnState    // learning lay from the server's GET /stats
	early  []earlyAnswer // answers accepted before lay was known (the latest maxEarly IDs)
	earlyN int           // IDs in early
}

// histKey names the IDs whose order one history checks: one generator of one server's layout.
type histKey struct {
	server string
	layout string
	node   uint64
}

// forgotKey names the histories of one server under one layout.
type forgotKey struct{ server, layout string }

// sharedKey names one generator of one layout, over every server that reports that layout.
type sharedKey struct {
	layout string
	node   uint64
}

// maxGenerators bounds the histories a checker remembers; past it, the one accepted longest ago
// is forgotten for each new one, its latest ID kept as a bound for every generator of its server
// that has no history (forgot): a hostile server sending IDs of made-up generators costs the
// availability of its own new generators, not memory, and cannot replay a forgotten one's IDs.
// highest is bounded alike (losing only the old-replay check across servers).
const maxGenerators = 4096

// maxCrossed bounds the runs (see span) a checker holds exactly, of answers that crossed requests
// still in flight; past it, the oldest fold into their generator's floor. An honest server's
// batch is a run or a few per tick (its IDs of a tick step evenly), so this bounds the memory of
// a hostile server that sends scattered IDs, not honest batches however large: a request that
// crossed more than that many runs gets its honest answer refused (it asks another server):
// less available, never wrong. maxEarly bounds the IDs kept of answers accepted before a
// server's layout is known.
const (
	maxCrossed = 1 << 16
	maxEarly   = 1 << 16
)

// maxRecent is the size of the window of IDs accepted, from any server, in which an exact repeat
// is refused. Measured on a loaded 2-core machine, accepting batches of 8192 took 2.2 ms each with
// this window (2.0 ms without one) and 5.9 ms with a window of 2^18 IDs.
const maxRecent = 1 << 16

// recentIDs is a window of the last maxRecent IDs accepted.
type recentIDs struct {
	set  map[snowfall.ID]struct{}
	ring []snowfall.ID
	next int // the oldest, once ring is full
}

func (r *recentIDs) has(id snowfall.ID) bool {
	_, ok := r.set[id]
	return ok
}

// shares returns an ID of ids, increasing, that is in the window: by looking each up, or, for an
// answer longer than the window, each ID of the window up in the answer (fewer lookups, none
// hashed).
func (r *recentIDs) shares(ids []snowfall.ID) (snowfall.ID, bool) {
	if len(ids) <= len(r.ring) {
		for _, id := range ids {
			if r.has(id) {
				return id, true
			}
		}
		return 0, false
	}
	for _, id := range r.ring {
		if _, found := slices.BinarySearch(ids, id); found {
			return id, true
		}
	}
	return 0, false
}

// addAll adds ids to the window: only their last maxRecent can be in it after.
func (r *recentIDs) addAll(ids []snowfall.ID) {
	for _, id := range ids[max(len(ids)-maxRecent, 0):] {
		r.add(id)
	}
}

func (r *recentIDs) add(id snowfall.ID) {
	if r.set == nil {
		r.set = map[snowfall.ID]struct{}{}
	}
	if len(r.ring) < maxRecent {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.next])
		r.ring[r.next] = id
		r.next = (r.next + 1) % maxRecent
	}
	r.set[id] = struct{}{}
}

func newChecker(l snowfall.Layout, pinned bool, skew time.Duration, now func() time.Time) *checker {
	k := &checker{keys: map[histKey]*history{}, inflight: map[uint64]int{}, skew: skew, now: now,
		servers: map[string]*serverCheck{}, highest: map[sharedKey]snowfall.ID{}, forgot: map[forgotKey]snowfall.ID{},
		retryMin: learnRetryMin}
	if pinned {
		k.pinned = newLayoutInfo(l)
	}
	return k
}

// server returns what k knows of the server at base; mu must be held.
func (k *checker) server(base string) *serverCheck {
	sc := k.servers[base]
	if sc == nil {
		sc = &serverCheck{lay: k.pinned}
		k.servers[base] = sc
	}
	return sc
}

// setLayout makes k check the IDs of server under l, folding the IDs accepted from it before into
// its floors; mu must be held.
func (k *checker) setLayout(server string, l snowfall.Layout) {
	sc := k.server(server)
	sc.lay = newLayoutInfo(l)
	k.foldEarly(server, sc)
}

// layoutKnown reports whether the IDs of server are checked against their generators.
func (k *checker) layoutKnown(server string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.server(server).lay != nil
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
	k.seqMu.Lock()
	defer k.seqMu.Unlock()
	k.inflight[k.seq]++
	return k.seq
}

// done notes that the request sent at count seq is no longer in flight.
func (k *checker) done(seq uint64) {
	k.seqMu.Lock()
	defer k.seqMu.Unlock()
	if n := k.inflight[seq]; n > 1 {
		k.inflight[seq] = n - 1
	} else {
		delete(k.inflight, seq)
	}
}

// oldest returns the smallest count of a request in flight, or the current count when none is;
// seqMu must be held.
func (k *checker) oldest() uint64 {
	m := k.seq
	for s := range k.inflight {
		m = min(m, s)
	}
	return m
}

// accept checks the IDs of one answer of server, whose request was sent when the count was seq,
// and records them if none is refused. ids must increase.
func (k *checker) accept(server string, ids []snowfall.ID, seq uint64) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	if id, ok := k.recent.shares(ids); ok {
		return &OrderError{Server: server, ID: id, Prev: id}
	}
	sc := k.server(server)
	l := sc.lay
	if l == nil {
		k.acceptEarly(sc, ids)
		return nil
	}
	now := k.now()
	// IDs increase, and the time field is their highest field: the last ID is the latest.
	if ms := l.timeOf(ids[len(ids)-1]); ms > now.Add(k.skew).UnixMilli() {
		return &FutureError{Server: server, ID: ids[len(ids)-1], Time: time.UnixMilli(ms).UTC(), Skew: k.skew}
	}
	old := now.Add(-k.skew).UnixMilli()
	runs := k.runs(l, ids)
	for _, run := range runs {
		// An old replay of another server's IDs: the first ID is the oldest and lowest.
		if top, ok := k.highest[sharedKey{l.key, run.key}]; ok && run.ids[0] <= top && l.timeOf(run.ids[0]) < old {
			return &OrderError{Server: server, ID: run.ids[0], Prev: top}
		}
	}
	// What is in flight now: a request sent later than this was sent after this answer came,
	// so its IDs are above this answer's, and its count is at least this answer's: this answer
	// is no floor for it (a weaker check, never a wrong one).
	k.seqMu.Lock()
	oldest := k.oldest()
	alone := len(k.inflight) == 1 && k.inflight[seq] == 1
	k.seqMu.Unlock()
	for _, run := range runs {
		h := k.keys[histKey{server, l.key, run.key}]
		if h == nil {
			// A generator the client has no history of: new, or forgotten (this server sent IDs
			// of more than maxGenerators generators). One dated no later than the latest ID
			// of a forgotten one may replay it: refused (less available, never wrong).
			if top, ok := k.forgot[forgotKey{server, l.key}]; ok && l.timeOf(run.ids[0]) <= l.timeOf(top) {
				return &OrderError{Server: server, ID: run.ids[0], Prev: top}
			}
			continue
		}
		h.fold(oldest)
		if prev, bad := h.refuses(run.ids, seq); bad {
			return &OrderError{Server: server, ID: prev.id, Prev: prev.prev}
		}
	}
	// With no other request in flight, no answer can cross this one: its IDs go to the floor at
	// once, unkept.
	for _, run := range runs {
		k.record(histKey{server, l.key, run.key}, run.ids, alone)
		k.raiseShared(sharedKey{l.key, run.key}, run.ids[len(run.ids)-1])
	}
	k.recent.addAll(ids)
	k.next()
	return nil
}

// next counts an answer accepted; mu must be held.
func (k *checker) next() {
	k.seqMu.Lock()
	k.seq++
	k.seqMu.Unlock()
}

// raiseShared notes top as accepted for key; mu must be held.
func (k *checker) raiseShared(key sharedKey, top snowfall.ID) {
	if cur, ok := k.highest[key]; ok {
		if top > cur {
			k.highest[key] = top
		}
		return
	}
	if len(k.highest) >= maxGenerators {
		for g := range k.highest { // any one: a forgotten generator only loses the old-replay check
			delete(k.highest, g)
			break
		}
	}
	k.highest[key] = top
}

// acceptEarly records ids, accepted from the server of sc while its layout is unknown, with the
// count they were accepted at; mu must be held.
func (k *checker) acceptEarly(sc *serverCheck, ids []snowfall.ID) {
	k.recent.addAll(ids)
	sc.early = append(sc.early, earlyAnswer{seq: k.seq, ids: slices.Clone(ids)})
	sc.earlyN += len(ids)
	for sc.earlyN > maxEarly {
		a := &sc.early[0]
		if over := sc.earlyN - maxEarly; over < len(a.ids) {
			a.ids = a.ids[over:] // the lowest go (see foldEarly)
			sc.earlyN -= over
			break
		}
		sc.earlyN -= len(a.ids)
		sc.early[0] = earlyAnswer{}
		sc.early = sc.early[1:]
	}
	k.next()
}

// foldEarly enters the answers of server accepted before its layout became known into its
// generators' histories, each as an answer accepted at the count it was accepted at, so that they
// bound the requests sent after them and are only checked for repeats by those that crossed them
// in flight, exactly as if the layout had been known; mu must be held and the layout known. IDs
// dated past the client's clock plus the skew are entered too: had the layout been known, their
// answer would have been refused (FutureError); handed out, they bound their generator, and the
// server's later IDs below them are refused until its clock passes them (red team: leaving them
// out let a server hand the same 1,000 IDs out again once their time came).
//
// Only the latest maxEarly IDs accepted before the layout is known are kept: older ones are
// checked against the window of recent IDs only, as every ID of a server whose layout stays
// unknown is.
func (k *checker) foldEarly(server string, sc *serverCheck) {
	l := sc.lay
	for _, a := range sc.early {
		ids := a.ids
		if len(ids) == 0 {
			continue
		}
		for _, run := range k.runs(l, ids) {
			k.recordAt(histKey{server, l.key, run.key}, run.ids, a.seq, false)
			k.raiseShared(sharedKey{l.key, run.key}, run.ids[len(run.ids)-1])
		}
	}
	sc.early, sc.earlyN = nil, 0
	k.seqMu.Lock()
	oldest := k.oldest()
	k.seqMu.Unlock()
	for key, h := range k.keys {
		if key.server == server && key.layout == l.key {
			h.fold(oldest)
		}
	}
}

// run is the IDs of one generator within an answer, in order.
type run struct {
	key uint64
	ids []snowfall.ID
}

// runs splits ids by generator; an answer of one generator (the usual case) is one run that
// shares ids's array.
func (k *checker) runs(l *layoutInfo, ids []snowfall.ID) []run {
	first := uint64(ids[0]) & l.mask
	mixed := false
	for _, id := range ids[1:] {
		if uint64(id)&l.mask != first {
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
		g := uint64(id) & l.mask
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

// forget drops the history of key, keeping only its latest ID as a bound of its server's
// generators that have no history (see forgot); mu must be held.
func (k *checker) forget(key histKey) {
	h := k.keys[key]
	top, ok := h.floor, h.hasFloor
	for _, a := range h.answers {
		if !ok || a.hi > top {
			top, ok = a.hi, true
		}
	}
	if fk := (forgotKey{key.server, key.layout}); ok && top > k.forgot[fk] {
		k.forgot[fk] = top
	}
	k.crossed -= h.held
	delete(k.keys, key)
}

// record notes ids, accepted at the current count, as the latest answer of generator key, kept
// whole unless alone says no request in flight can cross it; mu must be held.
func (k *checker) record(key histKey, ids []snowfall.ID, alone bool) {
	k.recordAt(key, ids, k.seq, alone)
}

// recordAt is record for an answer accepted at count seq, no earlier than the answers of key
// already recorded; mu must be held.
func (k *checker) recordAt(key histKey, ids []snowfall.ID, seq uint64, alone bool) {
	h := k.keys[key]
	if h == nil {
		if len(k.keys) >= maxGenerators {
			var lru histKey
			var lruSeq uint64 = 1<<64 - 1
			for g, x := range k.keys {
				if x.last < lruSeq {
					lru, lruSeq = g, x.last
				}
			}
			k.forget(lru)
		}
		h = &history{k: k}
		k.keys[key] = h
	}
	h.last = seq
	if alone && len(h.answers) == 0 {
		if top := ids[len(ids)-1]; !h.hasFloor || top > h.floor {
			h.floor, h.hasFloor = top, true
		}
		return
	}
	a := answer{seq: seq, spans: spansOf(ids), lo: ids[0], hi: ids[len(ids)-1]}
	h.answers = append(h.answers, a)
	h.held += len(a.spans)
	k.crossed += len(a.spans)
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
	held     int      // runs in answers
	last     uint64   // the count at which the latest answer was accepted
}

// answer is the IDs of one generator in one accepted answer, as increasing runs, and the count at
// which it was accepted.
type answer struct {
	seq    uint64
	spans  []span
	lo, hi snowfall.ID // the first and last ID
}

// earlyAnswer is an answer accepted before its server's layout was known, and the count at which
// it was accepted.
type earlyAnswer struct {
	seq uint64
	ids []snowfall.ID
}

// span is a run of IDs that step evenly: first, first+step, … n of them (step > 0; n ≥ 1).
type span struct {
	first snowfall.ID
	step  int64
	n     int64
}

func (r span) last() snowfall.ID { return r.first + snowfall.ID(r.step*(r.n-1)) }

// has reports whether id is one of r's IDs.
func (r span) has(id snowfall.ID) bool {
	if id < r.first || id > r.last() {
		return false
	}
	return r.n == 1 || int64(id-r.first)%r.step == 0
}

// spansOf returns ids, increasing, as runs, each as long as the step between its IDs allows. A
// generator's IDs of one tick step evenly (by one sequence step), so an honest batch is a run
// or a few per tick, whatever its length.
func spansOf(ids []snowfall.ID) []span {
	var out []span
	for i := 0; i < len(ids); {
		if i+1 == len(ids) {
			out = append(out, span{first: ids[i], step: 1, n: 1})
			break
		}
		step := int64(ids[i+1] - ids[i])
		if step <= 0 { // a difference past the int64 range (IDs on both sides of zero)
			out = append(out, span{first: ids[i], step: 1, n: 1})
			i++
			continue
		}
		j := i + 1
		for j+1 < len(ids) && int64(ids[j+1]-ids[j]) == step {
			j++
		}
		out = append(out, span{first: ids[i], step: step, n: int64(j - i + 1)})
		i = j + 1
	}
	return out
}

// shares returns an ID of ids, increasing, that is one of spans' (increasing and apart, as
// spansOf makes them), walking both in order.
func shares(ids []snowfall.ID, spans []span) (snowfall.ID, bool) {
	j := 0
	for _, id := range ids {
		for j < len(spans) && spans[j].last() < id {
			j++
		}
		if j == len(spans) {
			return 0, false
		}
		if spans[j].has(id) {
			return id, true
		}
	}
	return 0, false
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
	if !h.hasFloor || a.hi > h.floor {
		h.floor, h.hasFloor = a.hi, true
	}
	h.held -= len(a.spans)
	h.k.crossed -= len(a.spans)
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
		if a.seq < seq {
			// Accepted before the request was sent: a floor for it.
			if ids[0] <= a.hi {
				return refusal{ids[0], a.hi}, true
			}
			continue
		}
		// Crossed in flight: honest answers of one generator may interleave, never share an ID.
		if ids[len(ids)-1] < a.lo || ids[0] > a.hi {
			continue
		}
		if id, found := shares(ids, a.spans); found {
			return refusal{id, id}, true
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
