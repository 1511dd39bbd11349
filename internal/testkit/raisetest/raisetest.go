// Package raisetest checks a snowfall.MarkRaiser against a real store: every backend's tests run
// it (memassign, sqlassign on SQLite, PostgreSQL and MariaDB, etcdassign on the test cluster).
//
// The properties: a raise sets every mark below the target to the target and leaves the others as
// they are (checked on marks generated from a seed, around the target); it never lowers a mark,
// also while holders renew with their own marks at the same time; ids never claimed get the
// target; held ids make it refuse and change nothing, unless forced; a dry run changes nothing
// and reports what a raise would change; the next claim's floor is the raised mark.
package raisetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
)

// Store is an assigner whose marks can be raised.
type Store interface {
	snowfall.Assigner
	snowfall.MarkRaiser
}

// size is the pool the tests use: more than one etcd transaction's batch.
const size = 120

// far is a target after every mark the tests write: a dry run to it reports every mark.
var far = time.UnixMilli(1 << 50)

// Run runs the checks; open returns a new, empty manifest of the backend, removed at cleanup.
// SNOWFALL_RAISE_SEED replays one seed of the generated cases.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Fresh", func(t *testing.T) { fresh(t, open(t)) })
	t.Run("Generated", func(t *testing.T) {
		seeds := []uint64{1, 2, 3}
		if s := os.Getenv("SNOWFALL_RAISE_SEED"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				t.Fatalf("SNOWFALL_RAISE_SEED=%q: %v", s, err)
			}
			seeds = []uint64{n}
		}
		for _, seed := range seeds {
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { generated(t, open(t), seed) })
		}
	})
	t.Run("Held", func(t *testing.T) { held(t, open(t)) })
	t.Run("WhileRenewing", func(t *testing.T) { whileRenewing(t, open(t)) })
	t.Run("BadRequest", func(t *testing.T) { badRequest(t, open(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// marks returns every id's mark in [0, size), read with a dry run to a far target.
func marks(t *testing.T, s Store) map[int64]int64 {
	t.Helper()
	ch, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: far, Force: true, DryRun: true})
	if err != nil {
		t.Fatalf("dry run to read the marks: %v", err)
	}
	if len(ch) != size {
		t.Fatalf("dry run to %v reported %d ids, want all %d", far, len(ch), size)
	}
	m := map[int64]int64{}
	for _, c := range ch {
		m[c.ID] = ms(c.Old)
	}
	return m
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func claim(t *testing.T, s Store, token string, now time.Time) snowfall.Claim {
	t.Helper()
	c, err := leasetest.ClaimFirst(ctx(t), s, size, snowfall.ClaimRequest{Token: token, Lease: time.Minute, Now: now,
		Ahead: time.Second, Holder: snowfall.Holder{Host: "raisetest", PID: 1}})
	if err != nil {
		t.Fatalf("claim %s: %v", token, err)
	}
	return c
}

// fresh: on a manifest nobody claimed from, every id gets the target, and the next claim starts
// above it.
func fresh(t *testing.T, s Store) {
	to := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	dry, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry) != size {
		t.Fatalf("dry run: %d changes, want %d", len(dry), size)
	}
	if m := marks(t, s); m[0] != 0 || m[size-1] != 0 {
		t.Fatalf("the dry run wrote marks: %v", m)
	}
	ch, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != size {
		t.Fatalf("raise: %d changes, want %d", len(ch), size)
	}
	for i, c := range ch {
		if c.ID != int64(i) || !c.Old.IsZero() || !c.New.Equal(to) || c.Held {
			t.Fatalf("change %d: %+v, want id %d from zero to %v, not held", i, c, i, to)
		}
	}
	for id, m := range marks(t, s) {
		if m != to.UnixMilli() {
			t.Errorf("id %d: mark %d after the raise, want %d", id, m, to.UnixMilli())
		}
	}
	c := claim(t, s, "after", time.Now())
	if !c.Prev.Equal(to) {
		t.Errorf("claim after the raise: floor %v, want the raised mark %v", c.Prev, to)
	}
	again, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to, Force: true})
	if err != nil || len(again) != 0 {
		t.Errorf("second raise to the same target: %d changes (%v), want none", len(again), err)
	}
}

// generated: marks drawn from seed around the target (some ids never claimed), then a dry run
// and a raise; the changes are exactly the ids below the target, and after the raise every mark
// is max(its mark, target).
func generated(t *testing.T, s Store, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	to := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	want := map[int64]int64{}
	n := size - rng.IntN(size/4) // the highest ids stay never claimed
	var ids []int64
	for i := range n {
		c := claim(t, s, fmt.Sprint("g", i), time.Now())
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		var m time.Time
		switch rng.IntN(5) {
		case 0: // exactly the target
			m = to
		case 1: // a millisecond either side
			m = to.Add(time.Duration(rng.IntN(3)-1) * time.Millisecond)
		default: // up to two hours either side
			m = to.Add(time.Duration(rng.Int64N(int64(4*time.Hour))) - 2*time.Hour).Truncate(time.Millisecond)
		}
		if err := s.Release(ctx(t), id, fmt.Sprint("g", indexOf(ids, id)), m); err != nil {
			t.Fatalf("release %d: %v", id, err)
		}
		want[id] = m.UnixMilli()
	}
	before := marks(t, s)
	for id, m := range want {
		if before[id] != m {
			t.Fatalf("seed %d: id %d: mark %d after release, want %d", seed, id, before[id], m)
		}
	}
	check := func(what string, ch []snowfall.MarkChange) {
		t.Helper()
		got := map[int64]bool{}
		last := int64(-1)
		for _, c := range ch {
			if c.ID <= last {
				t.Errorf("seed %d: %s: changes not in id order: %d after %d", seed, what, c.ID, last)
			}
			last = c.ID
			got[c.ID] = true
			if ms(c.Old) != before[c.ID] || !c.New.Equal(to) {
				t.Errorf("seed %d: %s: id %d from %d to %v, want from %d to %v", seed, what, c.ID, ms(c.Old), c.New, before[c.ID], to)
			}
		}
		for id := range int64(size) {
			if below := before[id] < to.UnixMilli(); below != got[id] {
				t.Errorf("seed %d: %s: id %d (mark %d, target %d) changed=%v", seed, what, id, before[id], to.UnixMilli(), got[id])
			}
		}
	}
	dry, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	check("dry run", dry)
	for id, m := range marks(t, s) {
		if m != before[id] {
			t.Fatalf("seed %d: the dry run changed id %d's mark from %d to %d", seed, id, before[id], m)
		}
	}
	ch, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to})
	if err != nil {
		t.Fatal(err)
	}
	check("raise", ch)
	for id, m := range marks(t, s) {
		if w := max(before[id], to.UnixMilli()); m != w {
			t.Errorf("seed %d: id %d: mark %d after the raise, want max(%d, %d) = %d", seed, id, m, before[id], to.UnixMilli(), w)
		}
	}
}

func indexOf(ids []int64, id int64) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// held: a live lease makes a raise refuse and change nothing; with Force it raises the held id's
// mark too, and the holder's later renewal with a lower mark leaves it raised.
func held(t *testing.T, s Store) {
	c := claim(t, s, "holder", time.Now())
	before := marks(t, s)
	to := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	for _, dry := range []bool{true, false} {
		_, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to, DryRun: dry})
		var he *snowfall.HeldError
		if !errors.As(err, &he) || len(he.IDs) != 1 || he.IDs[0] != c.ID {
			t.Fatalf("raise (dry run %v) while id %d is held: %v, want a HeldError naming it", dry, c.ID, err)
		}
	}
	if after := marks(t, s); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a refused raise changed marks: %v, before %v", after, before)
	}
	ch, err := s.RaiseMarks(ctx(t), snowfall.RaiseRequest{Size: size, To: to, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, x := range ch {
		if x.ID == c.ID {
			found = true
			if !x.Held {
				t.Errorf("forced raise: held id %d not reported held: %+v", c.ID, x)
			}
		} else if x.Held {
			t.Errorf("forced raise: free id %d reported held", x.ID)
		}
	}
	if !found || len(ch) != size {
		t.Fatalf("forced raise: %d changes (held id %d among them: %v), want %d", len(ch), c.ID, found, size)
	}
	if err := s.Renew(ctx(t), c.ID, "holder", time.Minute, c.Mark); err != nil {
		t.Fatal(err)
	}
	if m := marks(t, s)[c.ID]; m != to.UnixMilli() {
		t.Errorf("held id %d: mark %d after a renewal with %v, want the raised %d", c.ID, m, c.Mark, to.UnixMilli())
	}
}

// whileRenewing: holders renew with rising marks of their own while raises run with Force; at the
// end every mark is the largest of what either wrote.
func whileRenewing(t *testing.T, s Store) {
	const holders, renewals, raises = 4, 15, 4
	base := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	cl := make([]snowfall.Claim, holders)
	for i := range cl {
		cl[i] = claim(t, s, fmt.Sprint("h", i), time.Now())
	}
	var wg sync.WaitGroup
	top := make([]int64, holders)
	errs := make(chan error, holders+raises)
	for i, c := range cl {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			m := base.Add(-time.Minute)
			for range renewals {
				m = m.Add(time.Duration(rng.IntN(20_000)) * time.Millisecond)
				if err := s.Renew(context.Background(), c.ID, fmt.Sprint("h", i), time.Minute, m); err != nil {
					errs <- err
					return
				}
				top[i] = m.UnixMilli()
			}
		}()
	}
	var raised int64
	var rmu sync.Mutex
	for j := range raises {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := base.Add(time.Duration(j) * 30 * time.Second)
			if _, err := s.RaiseMarks(context.Background(), snowfall.RaiseRequest{Size: size, To: to, Force: true}); err != nil {
				errs <- err
				return
			}
			rmu.Lock()
			raised = max(raised, to.UnixMilli())
			rmu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m := marks(t, s)
	for i, c := range cl {
		if w := max(top[i], raised); m[c.ID] != w {
			t.Errorf("holder %d (id %d): mark %d, want max(renewed %d, raised %d) = %d", i, c.ID, m[c.ID], top[i], raised, w)
		}
	}
	for id, v := range m {
		if v < raised {
			t.Errorf("id %d: mark %d below the highest raise %d", id, v, raised)
		}
	}
}

func badRequest(t *testing.T, s Store) {
	for _, r := range []snowfall.RaiseRequest{
		{Size: 0, To: time.Now()},
		{Size: snowfall.MaxPoolSize + 1, To: time.Now()},
		{Size: size},
		{Size: size, To: time.UnixMilli(-5)},
	} {
		if _, err := s.RaiseMarks(ctx(t), r); err == nil {
			t.Errorf("RaiseMarks(%+v): no error", r)
		} else if r.Size != size && !errors.Is(err, snowfall.ErrOutOfRange) {
			t.Errorf("RaiseMarks(%+v): %v, want ErrOutOfRange", r, err)
		}
	}
}
