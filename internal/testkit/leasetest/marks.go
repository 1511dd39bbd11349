package leasetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

func testClockBehind(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	l1, err := snowfall.NewLeased(t.Context(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	var max1 snowfall.ID
	for range 1000 {
		id, err := l1.Next()
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		max1 = id
	}
	id1 := l1.Lease().GeneratorID
	for range snowfall.PoolSize(SmallLayout()) - 1 {
		lease(t, a, s) // hold every other id: the holder behind must take id1 back
	}
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Ten seconds behind: more than a generator waits by default, so the holder gives the id back.
	s.Clock = snowfall.OffsetClock(-10 * time.Second)
	_, err = snowfall.NewLeased(t.Context(), a, s)
	if !errors.Is(err, snowfall.ErrClockBackwards) {
		t.Fatalf("NewLeased with the only free id's mark 10 s ahead: got %v, want ErrClockBackwards", err)
	}
	if held := heldIDs(t, a); held[id1] {
		t.Fatalf("generator %d still held after the claimer gave it back", id1)
	}
	// Told to wait up to 20 s, it keeps the id and waits for its clock to pass the mark.
	s.MaxBackwards = 20 * time.Second
	l2 := lease(t, a, s)
	if got := l2.Lease().GeneratorID; got != id1 {
		t.Fatalf("got generator %d, want %d", got, id1)
	}
	deadline := time.Now().Add(500 * time.Millisecond)
	errs := 0
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
		id, err := l2.NextContext(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Next: got %v, want it to wait while the clock is behind the mark", err)
			}
			errs++
			continue
		}
		if id <= max1 {
			t.Fatalf("holder with a clock 10 s behind issued %d, not above the previous holder's %d", id, max1)
		}
	}
	if errs == 0 {
		t.Errorf("a clock 10 s behind the mark issued without waiting")
	}
}

// heldIDs returns the ids whose leases are live.
func heldIDs(t *testing.T, a snowfall.Assigner) map[int64]bool {
	t.Helper()
	recs, err := a.Leases(t.Context())
	if err != nil {
		t.Fatalf("Leases: %v", err)
	}
	held := map[int64]bool{}
	for _, r := range recs {
		held[r.ID] = true
	}
	return held
}

// testMarksOnlyRise (issue 10, defect 2): a renewal that arrives after a later one (its client gave
// up, another connection succeeded) must not lower the recorded mark, or the next holder's floor.
func testMarksOnlyRise(t *testing.T, b Backend) {
	a := b.New(t)
	ctx := t.Context()
	size := snowfall.PoolSize(SmallLayout())
	if _, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: SmallLayout()}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Millisecond)
	c, err := ClaimFirst(ctx, a, size, snowfall.ClaimRequest{Token: "t1", Lease: time.Minute, Now: now, Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	high, low := now.Add(20*time.Second), now.Add(10*time.Second)
	if err := a.Renew(ctx, c.ID, "t1", time.Minute, high); err != nil {
		t.Fatalf("renewal R2: %v", err)
	}
	if err := a.Renew(ctx, c.ID, "t1", time.Minute, low); err != nil { // R1, late
		t.Fatalf("late renewal R1: %v", err)
	}
	recs, err := a.Leases(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("Leases: %+v, %v", recs, err)
	}
	if !recs[0].Mark.Equal(high) {
		t.Errorf("mark after a late, lower renewal: got %v, want %v (marks only rise)", recs[0].Mark, high)
	}
	// The next holder's floor is the higher mark.
	if e, ok := a.(Expirer); ok {
		if err := e.Expire(ctx, c.ID); err != nil {
			t.Fatal(err)
		}
		c2, err := ClaimFirst(ctx, a, size, snowfall.ClaimRequest{Token: "t2", Lease: time.Minute, Now: now.Add(time.Minute)})
		if err != nil || c2.ID != c.ID {
			t.Fatalf("claim after expiry: %+v, %v", c2, err)
		}
		if !c2.Prev.Equal(high) {
			t.Errorf("next holder's floor: got %v, want %v", c2.Prev, high)
		}
	}
}

// testFarMark (issue 10, defect 4): a holder whose clock ran an hour ahead leaves its id's mark an
// hour ahead; a claimer with a right clock takes another free id and issues at once, and when that
// id is the only one free, gives it back instead of sitting on it.
func testFarMark(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 200 * time.Millisecond}
	ahead := s
	ahead.Clock = snowfall.OffsetClock(time.Hour)
	l1, err := snowfall.NewLeased(t.Context(), a, ahead)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Next(); err != nil {
		t.Fatal(err)
	}
	far := l1.Lease().GeneratorID
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range snowfall.PoolSize(SmallLayout()) - 1 {
		l := lease(t, a, s)
		if got := l.Lease().GeneratorID; got == far {
			t.Fatalf("holder %d with a right clock took generator %d, whose mark is an hour ahead, while others were free", i, got)
		}
		if _, err := l.Next(); err != nil {
			t.Fatalf("holder %d: Next: %v", i, err)
		}
	}
	start := time.Now()
	_, err = snowfall.NewLeased(t.Context(), a, s)
	if !errors.Is(err, snowfall.ErrClockBackwards) {
		t.Fatalf("NewLeased with only the far id free: got %v, want ErrClockBackwards", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("giving the far id back took %v", d)
	}
	if heldIDs(t, a)[far] {
		t.Errorf("generator %d still held after it was given back", far)
	}
}
