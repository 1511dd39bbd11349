package client

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestCheckerCrossedAnswers: answers that crossed in flight may interleave (a generator fills
// concurrent batches tick by tick) and are accepted; one that shares an ID with an answer accepted
// while it was in flight is refused, whatever the order; one below an answer accepted before its
// request was sent is refused.
func TestCheckerCrossedAnswers(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	id := func(seq int64) snowfall.ID { return idAt(t, now, seq, 7) }
	a, b, c := k.sent(), k.sent(), k.sent()
	if err := k.accept("s", []snowfall.ID{id(1), id(3), id(5)}, a); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	k.done(a)
	if err := k.accept("s", []snowfall.ID{id(2), id(4), id(6)}, b); err != nil {
		t.Fatalf("an interleaved answer that crossed the first: %v", err)
	}
	k.done(b)
	if err := k.accept("s", []snowfall.ID{id(0), id(4)}, c); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("an answer repeating ID 4 of a crossed answer = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(0)}, c); err != nil {
		t.Fatalf("an ID below crossed answers, not in them: %v", err)
	}
	k.done(c)
	d := k.sent() // sent after all of them: their IDs are its floor
	if err := k.accept("s", []snowfall.ID{id(6)}, d); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("a repeat after the answers: %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(7)}, d); err != nil {
		t.Fatal(err)
	}
	k.done(d)
}

// TestCheckerEarlyIDs: IDs accepted before the layout is known are refused if repeated, and
// bound their generators once it is, also one dated further ahead than the skew (had the layout
// been known, its answer would have been refused; red team round 2: leaving it out let the server
// hand the same IDs out again once their time came).
func TestCheckerEarlyIDs(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, false, time.Second, func() time.Time { return now })
	early, ahead := idAt(t, now, 5, 3), idAt(t, now.Add(time.Minute), 0, 4)
	s := k.sent()
	if err := k.accept("s", []snowfall.ID{early, ahead}, s); err != nil {
		t.Fatal(err)
	}
	if err := k.accept("s", []snowfall.ID{early}, s); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("a repeat before the layout is known = %v, want ErrIDOrder", err)
	}
	k.done(s)
	k.mu.Lock()
	k.setLayout("s", snowfall.Layout{})
	k.mu.Unlock()
	s = k.sent()
	if err := k.accept("s", []snowfall.ID{idAt(t, now, 4, 3)}, s); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an ID below an early one of its generator = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{idAt(t, now, 0, 4)}, s); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an ID below an early one dated a minute ahead = %v, want ErrIDOrder", err)
	}
	now = now.Add(time.Minute)
	if err := k.accept("s", []snowfall.ID{ahead}, s); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a repeat of the early ID once its time came = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{idAt(t, now.Add(time.Millisecond), 0, 4)}, s); err != nil {
		t.Errorf("an ID above the early one, once its time came: %v", err)
	}
	k.done(s)
}

// TestCheckerForgottenGenerators (red team round 2: a layout with 16 generator bits and 70,000
// IDs over 5,000 generators made the client forget generator 0's history, and the server handed
// generator 0's IDs out again): past maxGenerators histories the oldest is forgotten, and its
// latest ID bounds the server's generators without a history: a replay of a forgotten one's IDs
// is refused, a generator's IDs dated after it are accepted.
func TestCheckerForgottenGenerators(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	accept := func(ids ...snowfall.ID) error {
		s := k.sent()
		defer k.done(s)
		return k.accept("s", ids, s)
	}
	old := idAt(t, now, 1, 0)
	if err := accept(old); err != nil {
		t.Fatal(err)
	}
	// Histories of every other generator of "s" and of every generator of two other servers:
	// past maxGenerators in all, so that generator 0 of "s", the oldest, is forgotten.
	for i, server := range []string{"s", "other", "third"} {
		at := now.Add(time.Duration(1+i) * time.Millisecond) // no server repeats another's IDs
		for g := range int64(2048) {
			if server == "s" && g == 0 {
				continue
			}
			sq := k.sent()
			if err := k.accept(server, []snowfall.ID{idAt(t, at, 0, g)}, sq); err != nil {
				t.Fatalf("%s, generator %d: %v", server, g, err)
			}
			k.done(sq)
		}
	}
	k.mu.Lock()
	_, kept := k.keys[histKey{"s", k.pinned.key, uint64(old) & k.pinned.mask}]
	k.mu.Unlock()
	if kept {
		t.Fatal("generator 0's history is still kept: the test did not make the checker forget it")
	}
	if err := accept(idAt(t, now, 0, 0)); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a replay below a forgotten generator's IDs = %v, want ErrIDOrder", err)
	}
	if err := accept(idAt(t, now.Add(time.Second), 0, 0)); err != nil {
		t.Errorf("an ID dated after every forgotten one: %v", err)
	}
}

// TestCheckerEarlyCrossed: an answer that crossed, in flight, an answer accepted before the
// server's layout was known is checked as any crossed answer once the layout is learned: accepted
// when below it and not sharing an ID (it was sent first and the server issued it first), refused
// when it repeats one; a request sent after the early answer still has it as its floor. Learning
// the layout mid-flight refused honest answers before (client TestLegitimateOrders, CI under load).
func TestCheckerEarlyCrossed(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, false, DefaultMaxSkew, func() time.Time { return now })
	id := func(seq int64) snowfall.ID { return idAt(t, now, seq, 7) }
	a, b := k.sent(), k.sent()
	if err := k.accept("s", []snowfall.ID{id(2), id(5)}, b); err != nil {
		t.Fatalf("the later request's answer, layout unknown: %v", err)
	}
	k.done(b)
	c := k.sent() // sent after b's answer was accepted
	k.mu.Lock()
	k.setLayout("s", snowfall.Layout{})
	k.mu.Unlock()
	if err := k.accept("s", []snowfall.ID{id(1), id(5)}, a); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a crossed answer repeating an early ID = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(0), id(1)}, a); err != nil {
		t.Errorf("an honest answer that crossed an early one, checked after the layout was learned: %v", err)
	}
	k.done(a)
	if err := k.accept("s", []snowfall.ID{id(4)}, c); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an answer below the early answer's top (not a repeat), to a request sent after it = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(6)}, c); err != nil {
		t.Errorf("an answer above every earlier one: %v", err)
	}
	k.done(c)
	d := k.sent()
	if err := k.accept("s", []snowfall.ID{id(6)}, d); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a repeat once nothing is in flight = %v, want ErrIDOrder", err)
	}
	k.done(d)
}

// TestCheckerBigCrossedBatches (red team F6: 16 callers of NextIDs(20000) on one client had 77 of
// 492 calls fail as replays, no fault injected): answers that crossed a request in flight are held
// as runs, not IDs one by one, so honest batches of a generator, 65,536 IDs and more of them while
// the request is in flight, never push the IDs the request crossed into a floor that refuses its
// honest, lower answer; a repeat of one of their IDs is still refused.
func TestCheckerBigCrossedBatches(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	// batch returns n IDs of generator 7 from tick t0 on, 4096 per tick, as a server fills them.
	batch := func(t0 time.Time, n int) []snowfall.ID {
		ids := make([]snowfall.ID, 0, n)
		for i := range n {
			ids = append(ids, idAt(t, t0.Add(time.Duration(i/4096)*time.Millisecond), int64(i%4096), 7))
		}
		return ids
	}
	first := k.sent() // its answer was issued first, and arrives last
	var later []uint64
	for range 4 {
		later = append(later, k.sent())
	}
	for i, s := range later {
		ids := batch(now.Add(time.Duration(10+10*i)*time.Millisecond), 30000)
		if err := k.accept("s", ids, s); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		k.done(s)
	}
	if err := k.accept("s", batch(now.Add(-time.Millisecond), 100), first); err != nil {
		t.Errorf("the first request's honest answer, below 120,000 IDs of batches that crossed it: %v", err)
	}
	if err := k.accept("s", []snowfall.ID{idAt(t, now.Add(20*time.Millisecond), 5, 7)}, first); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a repeat of an ID of a crossed batch = %v, want ErrIDOrder", err)
	}
	k.done(first)
}

// TestCheckerAcrossServers: order is checked per server, so one server's IDs never refuse
// another's, while an exact repeat of an ID accepted from any server, and an old replay (dated more
// than the skew before the clock, at or below an ID of its generator accepted from any server), are
// refused whichever server sends them.
func TestCheckerAcrossServers(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	accept := func(server string, ids ...snowfall.ID) error {
		s := k.sent()
		defer k.done(s)
		return k.accept(server, ids, s)
	}
	ahead := idAt(t, now.Add(DefaultMaxSkew-time.Second), 3, 7)
	if err := accept("hostile", ahead); err != nil {
		t.Fatalf("an ID within the skew: %v", err)
	}
	for i := range int64(3) {
		if err := accept("honest", idAt(t, now, i, 7)); err != nil {
			t.Fatalf("an honest ID below another server's: %v", err)
		}
	}
	if err := accept("honest", idAt(t, now, 1, 7)); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an honest server going back = %v, want ErrIDOrder", err)
	}
	if err := accept("other", idAt(t, now, 2, 7)); !errors.Is(err, ErrIDOrder) {
		t.Errorf("another server repeating an ID = %v, want ErrIDOrder", err)
	}
	if err := accept("other", ahead); !errors.Is(err, ErrIDOrder) {
		t.Errorf("another server repeating the ID ahead = %v, want ErrIDOrder", err)
	}
	if err := accept("old", idAt(t, now.Add(-time.Minute), 0, 8)); err != nil {
		t.Fatalf("an old ID above nothing of its generator: %v", err)
	}
	if err := accept("replayer", idAt(t, now.Add(-time.Minute), 9, 7)); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an ID older than the skew, below an ID of its generator = %v, want ErrIDOrder", err)
	}
	now = now.Add(time.Minute)
	if err := accept("replayer", idAt(t, now.Add(-2*time.Minute), 0, 7)); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an ID older than the skew, below IDs of its generator = %v, want ErrIDOrder", err)
	}
	if err := accept("replayer", idAt(t, now.Add(-DefaultMaxSkew/2), 0, 7)); err != nil {
		t.Errorf("an ID of a clock behind by less than the skew: %v", err)
	}
}

// TestCheckerHostileSearch: a seeded search over what one hostile server can send (IDs of the
// honest server's generator dated anywhere within the skew, batches of them, replays of the honest
// server's IDs or of its own, interleaved with the honest answers and crossing them in flight)
// finds no way to get an honest answer refused, and no ID is accepted twice. The old shared floor
// fails it at once (seed 1: the first ID dated ahead refused the honest answers after it).
func TestCheckerHostileSearch(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		start := time.Now()
		now := start
		k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
		accepted := map[snowfall.ID]bool{}
		var honest []snowfall.ID
		var hseq int64
		note := func(ids []snowfall.ID) {
			for _, id := range ids {
				if accepted[id] {
					t.Fatalf("seed %d: ID %d accepted twice", seed, id)
				}
				accepted[id] = true
			}
		}
		for step := range 1500 {
			now = now.Add(time.Duration(1+rng.IntN(20)) * time.Millisecond) // a new tick: honest IDs increase
			// A request to each server, in flight together; the answers come back in either order.
			hs, bs := k.sent(), k.sent()
			hseq++
			hid := idAt(t, now, hseq%1000, 7)
			var bad []snowfall.ID
			switch rng.IntN(4) {
			case 0:
				if len(honest) > 0 {
					bad = []snowfall.ID{honest[rng.IntN(len(honest))]}
				}
			case 1:
				at := now.Add(time.Duration(rng.Int64N(int64(2*DefaultMaxSkew))) - DefaultMaxSkew)
				bad = []snowfall.ID{idAt(t, at, 1000+rng.Int64N(3000), 7)}
			case 2:
				at := now.Add(time.Duration(rng.Int64N(int64(DefaultMaxSkew))))
				s := 1000 + rng.Int64N(1000)
				for i := range int64(1 + rng.IntN(50)) {
					bad = append(bad, idAt(t, at, s+i, 7))
				}
			case 3:
				bad = []snowfall.ID{hid} // the honest answer, sent first by the hostile server
			}
			hostileFirst := rng.IntN(2) == 0
			if hostileFirst && len(bad) > 0 {
				if k.accept("hostile", bad, bs) == nil {
					note(bad)
				}
			}
			err := k.accept("honest", []snowfall.ID{hid}, hs)
			switch {
			case err == nil:
				note([]snowfall.ID{hid})
				honest = append(honest, hid)
			case accepted[hid]:
				// The hostile server got this very ID through first: refusing it is right.
			default:
				t.Fatalf("seed %d step %d: the honest answer %d refused: %v", seed, step, hid, err)
			}
			if !hostileFirst && len(bad) > 0 {
				if k.accept("hostile", bad, bs) == nil {
					note(bad)
				}
			}
			k.done(hs)
			k.done(bs)
		}
	}
}

// FuzzSpans: the runs of any increasing IDs hold exactly those IDs.
func FuzzSpans(f *testing.F) {
	f.Add(int64(1), uint16(3), uint16(2), uint16(7), int64(-5))
	f.Fuzz(func(t *testing.T, start int64, a, b, c uint16, jump int64) {
		ids := []snowfall.ID{snowfall.ID(start)}
		for _, d := range []int64{int64(a) + 1, int64(a) + 1, int64(b) + 1, int64(c) + 1, int64(c) + 1, jump} {
			next := ids[len(ids)-1] + snowfall.ID(d)
			if next <= ids[len(ids)-1] {
				break // not increasing, or past the int64 range
			}
			ids = append(ids, next)
		}
		spans := spansOf(ids)
		var n int64
		for i, r := range spans {
			n += r.n
			if i > 0 && r.first <= spans[i-1].last() {
				t.Fatalf("runs %v of %v overlap", spans, ids)
			}
		}
		if n != int64(len(ids)) {
			t.Fatalf("runs %v hold %d IDs, want %d (%v)", spans, n, len(ids), ids)
		}
		for _, id := range ids {
			if _, ok := shares([]snowfall.ID{id}, spans); !ok {
				t.Fatalf("runs %v miss %d", spans, id)
			}
			if id+1 != ids[len(ids)-1] && !slices.Contains(ids, id+1) {
				if _, ok := shares([]snowfall.ID{id + 1}, spans); ok {
					t.Fatalf("runs %v hold %d, not one of %v", spans, id+1, ids)
				}
			}
		}
	})
}

// BenchmarkCheckBatch100k: the time a batch of 100,000 IDs holds the checker (what calls on the
// same client wait for; red team F7), with the window of recent IDs full.
func BenchmarkCheckBatch100k(b *testing.B) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	batch := func(t0 time.Time, n int) []snowfall.ID {
		ids := make([]snowfall.ID, 0, n)
		for i := range n {
			ids = append(ids, idAt(b, t0.Add(time.Duration(i/4096)*time.Millisecond), int64(i%4096), 7))
		}
		return ids
	}
	var batches [][]snowfall.ID
	for i := range b.N + 1 {
		batches = append(batches, batch(now.Add(time.Duration(30*i)*time.Millisecond), 100000))
	}
	s := k.sent()
	if err := k.accept("s", batches[0], s); err != nil {
		b.Fatal(err)
	}
	k.done(s)
	b.ResetTimer()
	for i := range b.N {
		s := k.sent()
		if err := k.accept("s", batches[i+1], s); err != nil {
			b.Fatal(err)
		}
		k.done(s)
	}
}
