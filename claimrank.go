package snowfall

import (
	"math/rand/v2"
	"reflect"
	"sync"
)

// The claims of one process through one Assigner (many Leased generators started at once, as tests
// and benchmarks do) would all read the same free ids and try the same one first, and all but one
// would conflict. They share a burst instead: the ids that the claims in flight, and those that
// ended while others were in flight, are trying or took. A claim that joins a burst reads the free
// ids from the one after those the claims before it read from or picked (Free's Start; the order
// of marks still comes first), and skips the burst's ids, so that such claims spread over the free
// ids without conflicts between them and without reading past each other's. A burst ends when no claim through
// the Assigner is in flight; a lone claim starts at the preferred id. Claims of other processes
// share nothing; they spread after their conflicts (see Leased.claim).
var bursts = struct {
	sync.Mutex
	m map[Assigner]*burst
}{m: map[Assigner]*burst{}}

type burst struct {
	a        Assigner
	inflight int
	busy     map[int64]bool // guarded by bursts' mutex
	next     int64          // where the next claim reads from (modulo the pool size); -1 before the first
}

// joinBurst returns the burst of the claims in flight through a, joined by one more claim; leave
// ends that claim. An Assigner that cannot be a map key gets a burst of its own.
func joinBurst(a Assigner) *burst {
	if v := reflect.ValueOf(a); !v.IsValid() || !v.Comparable() {
		return &burst{inflight: 1, busy: map[int64]bool{}, next: -1}
	}
	bursts.Lock()
	defer bursts.Unlock()
	b := bursts.m[a]
	if b == nil {
		b = &burst{a: a, busy: map[int64]bool{}, next: -1}
		bursts.m[a] = b
	}
	b.inflight++
	return b
}

// start returns where a claim of the burst reads the free ids from: start for the burst's first
// claim, and for each later one the id after the last that an earlier one read from or picked, so
// that claims reading at once read from different ids.
func (b *burst) start(start, size int64) int64 {
	bursts.Lock()
	defer bursts.Unlock()
	if b.next < 0 {
		b.next = start
	}
	s := b.next % size
	b.next++
	return s
}

// release unmarks id: a claim of it failed without a conflict, so it may still be free.
func (b *burst) release(id int64) {
	bursts.Lock()
	delete(b.busy, id)
	bursts.Unlock()
}

// leave ends one claim of the burst.
func (b *burst) leave() {
	bursts.Lock()
	defer bursts.Unlock()
	if b.inflight--; b.inflight == 0 && b.a != nil && bursts.m[b.a] == b {
		delete(bursts.m, b.a)
	}
}

// pick chooses the id to try among free, skipping the burst's unless all is set, and marks it: the
// first, or with random one at random among the first window (of those whose marks are not ahead,
// the first due of free, if there are any). It returns the index in free, or -1 when every id of
// free is the burst's.
func (b *burst) pick(free []FreeID, due, window int, random, all bool) int {
	bursts.Lock()
	defer bursts.Unlock()
	// The candidates are the ids of free that are not the burst's; of them, the first n (those
	// whose marks are not ahead, if any) are the ones to choose among.
	cands, n := 0, 0
	for i, f := range free {
		if all || !b.busy[f.ID] {
			cands++
			if i < due {
				n++
			}
		}
	}
	if cands == 0 {
		return -1
	}
	if n == 0 {
		n = cands
	}
	k := 0 // the k-th candidate
	if random {
		k = rand.IntN(min(n, window))
	}
	for i, f := range free {
		if all || !b.busy[f.ID] {
			if k == 0 {
				b.busy[f.ID] = true
				b.next = max(b.next, f.ID+1)
				return i
			}
			k--
		}
	}
	panic("unreachable")
}
