package leasetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// ClaimFirst claims the id a's Free prefers for r.Now among size ids (Start 0), with r's token,
// lease, clock, ahead and holder, for tests that want any free id. It returns an error wrapping
// snowfall.ErrNoFreeGenerator when every id is held.
func ClaimFirst(ctx context.Context, a snowfall.Assigner, size int64, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	free, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: r.Now, Limit: 1})
	if err != nil {
		return snowfall.Claim{}, err
	}
	if len(free) == 0 {
		return snowfall.Claim{}, fmt.Errorf("%w: all %d generator ids are held", snowfall.ErrNoFreeGenerator, size)
	}
	r.Free = free[0]
	return a.Claim(ctx, r)
}

// ClaimID claims id for tests: it finds id among a's free ids (size of them) and claims it as Free
// read it. It fails when id is not free.
func ClaimID(ctx context.Context, a snowfall.Assigner, size, id int64, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	f, err := freeID(ctx, a, size, id)
	if err != nil {
		return snowfall.Claim{}, err
	}
	r.Free = f
	return a.Claim(ctx, r)
}

// freeID returns id as a's Free reads it, or an error when it is not free.
func freeID(ctx context.Context, a snowfall.Assigner, size, id int64) (snowfall.FreeID, error) {
	free, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: time.Now(), Limit: int(size)})
	if err != nil {
		return snowfall.FreeID{}, err
	}
	for _, f := range free {
		if f.ID == id {
			return f, nil
		}
	}
	return snowfall.FreeID{}, fmt.Errorf("generator %d is not free: Free returned %v", id, free)
}

// newSmall makes a fresh manifest of SmallLayout on b and returns it with its pool size.
func newSmall(t *testing.T, b Backend) (snowfall.Assigner, int64) {
	t.Helper()
	a := b.New(t)
	if _, err := snowfall.ReadManifest(t.Context(), a, snowfall.Manifest{Layout: SmallLayout()}); err != nil {
		t.Fatal(err)
	}
	return a, snowfall.PoolSize(SmallLayout())
}

func wantConflict(t *testing.T, what string, c snowfall.Claim, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded (%+v), want ErrClaimConflict", what, c)
	} else if !errors.Is(err, snowfall.ErrClaimConflict) {
		t.Errorf("%s: got %v, want ErrClaimConflict", what, err)
	}
}

// testReplayedClaim (issue 18, defect 4): a claim applied a second time, after another tenure
// claimed and released the row, fails; so does one applied again while its own tenure holds the
// row, or after that tenure expired.
func testReplayedClaim(t *testing.T, b Backend) {
	a, size := newSmall(t, b)
	ctx := t.Context()
	now := time.Now()
	free, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: now, Limit: 1})
	if err != nil || len(free) != 1 {
		t.Fatalf("Free: %v, %v", free, err)
	}
	req := snowfall.ClaimRequest{Free: free[0], Token: "h1", Lease: time.Minute, Now: now, Ahead: time.Second}
	c1, err := a.Claim(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if c1.ID != free[0].ID {
		t.Fatalf("claimed generator %d, asked for %d", c1.ID, free[0].ID)
	}
	c, err := a.Claim(ctx, req)
	wantConflict(t, "the claim applied again while its tenure holds the row", c, err)
	e, ok := a.(Expirer)
	if !ok {
		t.Fatal("the backend has no Expire method")
	}
	if err := e.Expire(ctx, c1.ID); err != nil {
		t.Fatal(err)
	}
	c, err = a.Claim(ctx, req)
	wantConflict(t, "the claim applied again after its tenure expired", c, err)
	cb, err := ClaimID(ctx, a, size, c1.ID, snowfall.ClaimRequest{Token: "b", Lease: time.Minute, Now: now.Add(time.Hour), Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, cb.ID, "b", cb.Mark); err != nil {
		t.Fatal(err)
	}
	c, err = a.Claim(ctx, req)
	wantConflict(t, "the first claim, applied again after another tenure claimed and released the row", c, err)
	if held := heldIDs(t, a); len(held) != 0 {
		t.Errorf("after the replays: held %v, want none", held)
	}
	if err := a.Renew(ctx, c1.ID, "h1", time.Minute, now.Add(time.Minute)); !errors.Is(err, snowfall.ErrLeaseLost) {
		t.Errorf("renewal of the replayed tenure: got %v, want ErrLeaseLost", err)
	}
}

// testStaleClaim: a claim conditioned on a row state that has changed since Free read it fails,
// whether the version changed with the mark back where it was (a tenure came and went without
// issuing) or the mark moved (a late renewal of an expired tenure), and it takes no other id.
func testStaleClaim(t *testing.T, b Backend) {
	a, size := newSmall(t, b)
	ctx := t.Context()
	now := time.Now()
	r := snowfall.ClaimRequest{Token: "x", Lease: time.Minute, Now: now, Ahead: time.Second}

	// The version: another tenure claims the id read and releases it with the mark it found.
	f, err := freeID(ctx, a, size, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := r
	other.Free, other.Token = f, "other"
	co, err := a.Claim(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, co.ID, "other", co.Prev); err != nil {
		t.Fatal(err)
	}
	stale := r
	stale.Free = f
	c, err := a.Claim(ctx, stale)
	wantConflict(t, "a claim of a row that another tenure claimed and released since, mark unchanged", c, err)

	// The mark: a tenure expires, the claimer reads the row, the old holder's renewal arrives.
	ct, err := ClaimID(ctx, a, size, 1, snowfall.ClaimRequest{Token: "t", Lease: time.Minute, Now: now, Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.(Expirer).Expire(ctx, ct.ID); err != nil {
		t.Fatal(err)
	}
	f, err = freeID(ctx, a, size, ct.ID)
	if err != nil {
		t.Fatal(err)
	}
	switch err := a.Renew(ctx, ct.ID, "t", time.Minute, now.Add(time.Hour)); {
	case errors.Is(err, snowfall.ErrLeaseLost):
		// This store ends an expired tenure for good (etcd deletes its keys): a late renewal
		// cannot move the mark of a free row.
		t.Logf("the late renewal of an expired tenure failed (%v): no mark to move", err)
	case err != nil:
		t.Fatalf("renewal of an expired tenure nobody claimed: %v", err)
	default:
		if err := a.(Expirer).Expire(ctx, ct.ID); err != nil {
			t.Fatal(err)
		}
		stale.Free = f
		c, err = a.Claim(ctx, stale)
		wantConflict(t, "a claim of a row whose mark a renewal raised since it was read", c, err)
	}

	// A held id, a version never read, an id beyond the rows: conflicts, and nothing taken.
	held := heldIDs(t, a)
	hf, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: now, Limit: int(size)})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []snowfall.FreeID{
		{ID: 2, Version: f.Version + 12345, Mark: f.Mark},
		{ID: 3, Mark: now.Add(time.Hour)},
	} {
		stale.Free = bad
		c, err = a.Claim(ctx, stale)
		wantConflict(t, fmt.Sprintf("a claim of %+v", bad), c, err)
	}
	if got := heldIDs(t, a); len(got) != len(held) {
		t.Errorf("failed claims took ids: held %v before, %v after", held, got)
	}
	hf2, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: now, Limit: int(size)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hf, hf2) {
		t.Errorf("failed claims changed the free ids: %v before, %v after", hf, hf2)
	}
	// The id asked for, and no other: the preferred id is 0, but the claim asks for 3.
	f3, err := freeID(ctx, a, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	stale.Free = f3
	c, err = a.Claim(ctx, stale)
	if err != nil || c.ID != 3 || !c.Prev.Equal(f3.Mark) {
		t.Errorf("claim of generator 3: got %+v, %v; want generator 3 with floor %v", c, err, f3.Mark)
	}
}

// testFreeOrder: Free lists the free ids whose marks are not ahead of the claimer's clock from
// Start upwards, wrapping, then the others by mark, and no more than Limit.
func testFreeOrder(t *testing.T, b Backend) {
	a, size := newSmall(t, b)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	ids := func(r snowfall.FreeRequest) []int64 {
		t.Helper()
		free, err := a.Free(ctx, r)
		if err != nil {
			t.Fatalf("Free(%+v): %v", r, err)
		}
		var out []int64
		for _, f := range free {
			out = append(out, f.ID)
		}
		return out
	}
	for _, c := range []struct {
		start int64
		limit int
		want  []int64
	}{{0, 4, []int64{0, 1, 2, 3}}, {2, 4, []int64{2, 3, 0, 1}}, {3, 2, []int64{3, 0}}, {1, 1, []int64{1}}, {0, 100, []int64{0, 1, 2, 3}}} {
		if got := ids(snowfall.FreeRequest{Size: size, Now: now, Start: c.start, Limit: c.limit}); !slices.Equal(got, c.want) {
			t.Errorf("fresh manifest, start %d, limit %d: got %v, want %v", c.start, c.limit, got, c.want)
		}
	}
	// Marks: 1 an hour ahead, 3 half an hour ahead; 0 held.
	for _, m := range []struct {
		id   int64
		mark time.Time
	}{{1, now.Add(time.Hour)}, {3, now.Add(30 * time.Minute)}} {
		c, err := ClaimID(ctx, a, size, m.id, snowfall.ClaimRequest{Token: "m", Lease: time.Minute, Now: now, Ahead: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Release(ctx, c.ID, "m", m.mark); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ClaimID(ctx, a, size, 0, snowfall.ClaimRequest{Token: "held", Lease: time.Minute, Now: now, Ahead: time.Second}); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(snowfall.FreeRequest{Size: size, Now: now, Start: 3, Limit: 4}), []int64{2, 3, 1}; !slices.Equal(got, want) {
		t.Errorf("start 3, marks of 3 and 1 ahead: got %v, want %v", got, want)
	}
	if got, want := ids(snowfall.FreeRequest{Size: size, Now: now.Add(45 * time.Minute), Start: 3, Limit: 4}), []int64{3, 2, 1}; !slices.Equal(got, want) {
		t.Errorf("start 3, clock past 3's mark: got %v, want %v", got, want)
	}
	free, err := a.Free(ctx, snowfall.FreeRequest{Size: size, Now: now, Limit: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range free {
		if want := map[int64]time.Time{1: now.Add(time.Hour), 3: now.Add(30 * time.Minute)}[f.ID]; !f.Mark.Equal(want) {
			t.Errorf("generator %d: mark %v, want %v", f.ID, f.Mark, want)
		}
	}
	// Every id held: no ids, no error.
	for _, id := range []int64{1, 2, 3} {
		if _, err := ClaimID(ctx, a, size, id, snowfall.ClaimRequest{Token: "all", Lease: time.Minute, Now: now, Ahead: time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(snowfall.FreeRequest{Size: size, Now: now, Limit: 4}); len(got) != 0 {
		t.Errorf("every id held: Free returned %v", got)
	}
}

// testStart: LeaseSettings.Start orders a holder's search: the first free id from Start upwards,
// then from 0; the value is taken modulo the pool size.
func testStart(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: time.Second, Start: 2}
	for _, want := range []int64{2, 3, 0} {
		if got := lease(t, a, s).Lease().GeneratorID; got != want {
			t.Errorf("start 2: got generator %d, want %d", got, want)
		}
	}
	s.Start = 4 + 1 // modulo the pool of four: 1, the only one left
	if got := lease(t, a, s).Lease().GeneratorID; got != 1 {
		t.Errorf("start 5 of a pool of 4: got generator %d, want 1", got)
	}
}
