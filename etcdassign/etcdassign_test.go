package etcdassign_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/testkit/faultproxy"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
)

func TestMain(m *testing.M) {
	leasetest.Helper(func(spec string) (snowfall.Assigner, error) {
		u, group, _ := strings.Cut(spec, "|")
		return etcdassign.Open(context.Background(), u, etcdassign.Options{Group: group})
	})
	os.Exit(m.Run())
}

// endpoints returns the test cluster's client addresses (.ci/etcd.sh starts it).
func endpoints() string {
	if v := os.Getenv("SNOWFALL_TEST_ETCD"); v != "" {
		return v
	}
	return "127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793"
}

func etcdURL() string { return "etcd://" + endpoints() + "/snowfall-test" }

// group returns a group name of the test's own.
func group() string {
	var b [5]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// open opens u with group g and drops the group's keys at cleanup. An unreachable cluster fails
// the test (it never skips: .ci/etcd.sh starts the cluster).
func open(t testing.TB, u, g string) *etcdassign.Assigner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := etcdassign.Open(ctx, u, etcdassign.Options{Group: g})
	if err != nil {
		t.Fatalf("%v (start the cluster with .ci/etcd.sh)", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Drop(ctx); err != nil {
			t.Errorf("Drop: %v", err)
		}
		a.Close()
	})
	return a
}

func TestSuite(t *testing.T) {
	u := etcdURL()
	var mu sync.Mutex
	urls := map[snowfall.Assigner]string{}
	leasetest.Run(t, leasetest.Backend{
		New: func(t *testing.T) snowfall.Assigner {
			g := group()
			a := open(t, u, g)
			mu.Lock()
			urls[a] = u + "|" + g
			mu.Unlock()
			return a
		},
		Helper: func(a snowfall.Assigner) string {
			mu.Lock()
			defer mu.Unlock()
			return urls[a]
		},
		Faulty: func(t *testing.T) (snowfall.Assigner, func(), func()) {
			first, _, _ := strings.Cut(endpoints(), ",")
			p, err := faultproxy.New(first)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			g := group()
			open(t, u, g) // drops the keys at cleanup, through a connection never cut
			a := open(t, "etcd://"+p.Addr()+"/snowfall-test?dial-timeout=1s", g)
			return a, p.Cut, p.Restore
		},
	})
}

// claim claims from a with the given clock and returns the claim.
func claim(t *testing.T, a snowfall.Assigner, size int64, token string, now time.Time, ahead time.Duration) snowfall.Claim {
	t.Helper()
	c, err := leasetest.ClaimFirst(t.Context(), a, size, snowfall.ClaimRequest{Token: token, Lease: time.Minute, Now: now, Ahead: ahead})
	if err != nil {
		t.Fatalf("Claim %s: %v", token, err)
	}
	return c
}

// TestMarkOnlyRises: a renewal with a lower mark than the stored one leaves the stored one; a
// release stores the mark it is given, lower or not; a claim records max(now, previous) + ahead.
func TestMarkOnlyRises(t *testing.T) {
	a := open(t, etcdURL(), group())
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	c := claim(t, a, 4, "tok", now, time.Minute)
	if want := now.Add(time.Minute); !c.Mark.Equal(want) || !c.Prev.IsZero() {
		t.Fatalf("first claim: mark %v prev %v, want mark %v and no prev", c.Mark, c.Prev, want)
	}
	high := now.Add(time.Hour)
	if err := a.Renew(ctx, c.ID, "tok", time.Minute, high); err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if err := a.Renew(ctx, c.ID, "tok", time.Minute, now); err != nil {
		t.Fatalf("Renew with a lower mark: %v", err)
	}
	if got := mark(t, a, c.ID); !got.Equal(high) {
		t.Errorf("after a renewal with a lower mark: got %v, want the higher %v kept", got, high)
	}
	low := now.Add(time.Second)
	if err := a.Release(ctx, c.ID, "tok", low); err != nil {
		t.Fatalf("Release: %v", err)
	}
	// The released id's mark (low) is behind the claimer's clock: it is preferred, and its mark is
	// now + ahead.
	c2 := claim(t, a, 4, "tok2", now.Add(2*time.Second), time.Second)
	if c2.ID != c.ID || !c2.Prev.Equal(low) || !c2.Mark.Equal(now.Add(3*time.Second)) {
		t.Errorf("claim after release: id %d prev %v mark %v; want id %d prev %v mark %v",
			c2.ID, c2.Prev, c2.Mark, c.ID, low, now.Add(3*time.Second))
	}
	// A claimer whose clock is behind the previous mark records previous mark + ahead.
	if err := a.Release(ctx, c2.ID, "tok2", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.Expire(ctx, 99); err != nil { // an id never held: nothing to do
		t.Errorf("Expire of a free id: %v", err)
	}
	c3 := claim(t, a, 1, "tok3", now, time.Second)
	if want := now.Add(time.Hour + time.Second); c3.ID != c.ID || !c3.Mark.Equal(want) {
		t.Errorf("claim with a clock behind the mark: id %d mark %v, want id %d mark %v", c3.ID, c3.Mark, c.ID, want)
	}
}

// mark returns the mark Leases reports for id.
func mark(t *testing.T, a snowfall.Assigner, id int64) time.Time {
	t.Helper()
	recs, err := a.Leases(t.Context())
	if err != nil {
		t.Fatalf("Leases: %v", err)
	}
	for _, r := range recs {
		if r.ID == id {
			return r.Mark
		}
	}
	t.Fatalf("Leases: generator %d not listed in %+v", id, recs)
	return time.Time{}
}

// TestClaimPrefersMarksBehind: among free ids, a claim takes the one with the smallest
// max(mark, now), ties by lowest id: a never-used or released id with an old mark comes before an
// id whose mark is an hour ahead of the claimer's clock.
func TestClaimPrefersMarksBehind(t *testing.T) {
	a := open(t, etcdURL(), group())
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	c0 := claim(t, a, 4, "a", now, time.Hour) // id 0, mark an hour ahead
	c1 := claim(t, a, 4, "b", now, time.Hour) // id 1
	if c0.ID != 0 || c1.ID != 1 {
		t.Fatalf("first claims: got ids %d and %d, want 0 and 1", c0.ID, c1.ID)
	}
	if err := a.Release(ctx, c0.ID, "a", c0.Mark); err != nil { // id 0 free, mark an hour ahead
		t.Fatal(err)
	}
	if err := a.Release(ctx, c1.ID, "b", now.Add(-time.Minute)); err != nil { // id 1 free, old mark
		t.Fatal(err)
	}
	for i, want := range []int64{1, 2, 3, 0} {
		c := claim(t, a, 4, "c"+string(rune('0'+i)), now, time.Second)
		if c.ID != want {
			t.Errorf("claim %d: got id %d, want %d (order 1, 2, 3 by max(mark, now) then id, then 0 whose mark is ahead)", i, c.ID, want)
		}
	}
	if _, err := leasetest.ClaimFirst(ctx, a, 4, snowfall.ClaimRequest{Token: "full", Lease: time.Minute, Now: now}); !errors.Is(err, snowfall.ErrNoFreeGenerator) {
		t.Errorf("claim on a full pool: got %v, want ErrNoFreeGenerator", err)
	} else if !strings.Contains(err.Error(), "4") {
		t.Errorf("error %q does not say how many ids there are", err)
	}
}

// TestLeaseRoundsUp: a lease shorter than a second still lasts at least that long in etcd
// (its TTL is rounded up to whole seconds), and it ends by etcd's clock when not renewed.
func TestLeaseRoundsUp(t *testing.T) {
	a := open(t, etcdURL(), group())
	const lease = 1500 * time.Millisecond
	start := time.Now()
	c, err := leasetest.ClaimFirst(t.Context(), a, 1, snowfall.ClaimRequest{Token: "x", Lease: lease, Now: start, Ahead: lease})
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err := leasetest.ClaimFirst(t.Context(), a, 1, snowfall.ClaimRequest{Token: "y", Lease: lease, Now: time.Now(), Ahead: lease})
		if err == nil {
			if d := time.Since(start); d < lease {
				t.Fatalf("id %d taken over %v after its claim, before the lease of %v", c.ID, d, lease)
			}
			t.Logf("lease of %v taken over %v after the claim", lease, time.Since(start).Round(time.Millisecond))
			return
		}
		if !errors.Is(err, snowfall.ErrNoFreeGenerator) {
			t.Fatal(err)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("lease of %v still held 10 s after the claim", lease)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRenewKeepsAndLoses: renewals with the token keep the lease past its TTL; with another
// token, or after the lease was revoked, they report ErrLeaseLost.
func TestRenewKeepsAndLoses(t *testing.T) {
	g := group()
	a := open(t, etcdURL(), g)
	ctx := t.Context()
	c := claim(t, a, 2, "tok", time.Now(), time.Second)
	// Another Assigner (another process) renews a tenure it did not claim.
	b := open(t, etcdURL(), g)
	if err := b.Renew(ctx, c.ID, "tok", time.Minute, time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Renew through another Assigner: %v", err)
	}
	// A lease of 1 s renewed every 300 ms for 2.5 s stays held.
	c2, err := leasetest.ClaimFirst(ctx, a, 2, snowfall.ClaimRequest{Token: "short", Lease: time.Second, Now: time.Now(), Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		time.Sleep(300 * time.Millisecond)
		if err := a.Renew(ctx, c2.ID, "short", time.Second, time.Now().Add(time.Second)); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	}
	// A longer lease than the one granted moves the tenure to a new etcd lease.
	if err := a.Renew(ctx, c2.ID, "short", 5*time.Second, time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("Renew with a longer lease: %v", err)
	}
	if err := a.Renew(ctx, c2.ID, "short", 5*time.Second, time.Now().Add(5*time.Second)); err != nil {
		t.Fatalf("Renew after the move: %v", err)
	}
	if err := a.Renew(ctx, c.ID, "other", time.Minute, time.Now()); !errors.Is(err, snowfall.ErrLeaseLost) {
		t.Errorf("Renew with another token: got %v, want ErrLeaseLost", err)
	}
	if err := a.Release(ctx, c.ID, "other", time.Now()); !errors.Is(err, snowfall.ErrLeaseLost) {
		t.Errorf("Release with another token: got %v, want ErrLeaseLost", err)
	}
	if err := a.Expire(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx, c.ID, "tok", time.Minute, time.Now()); !errors.Is(err, snowfall.ErrLeaseLost) {
		t.Errorf("Renew after the lease was revoked: got %v, want ErrLeaseLost", err)
	}
}

// TestDeadlines: every call returns when its context ends, even with the cluster cut off.
func TestDeadlines(t *testing.T) {
	first, _, _ := strings.Cut(endpoints(), ",")
	p, err := faultproxy.New(first)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() }) // after the Assigners' cleanups
	g := group()
	open(t, etcdURL(), g)
	a := open(t, "etcd://"+p.Addr()+"/snowfall-test", g)
	c := claim(t, a, 4, "tok", time.Now(), time.Second)
	p.Cut()
	calls := map[string]func(ctx context.Context) error{
		"Properties": func(ctx context.Context) error { _, err := a.Properties(ctx, nil); return err },
		"Claim": func(ctx context.Context) error {
			_, err := leasetest.ClaimFirst(ctx, a, 4, snowfall.ClaimRequest{Token: "t2", Lease: time.Minute, Now: time.Now()})
			return err
		},
		"Renew":   func(ctx context.Context) error { return a.Renew(ctx, c.ID, "tok", time.Minute, time.Now()) },
		"Release": func(ctx context.Context) error { return a.Release(ctx, c.ID, "tok", time.Now()) },
		"Leases":  func(ctx context.Context) error { _, err := a.Leases(ctx); return err },
	}
	for name, f := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := f(ctx)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("returned %v after a deadline of 300ms", d)
			}
			if err == nil {
				t.Errorf("no error with the cluster cut off")
			}
		})
	}
	p.Restore()
}
