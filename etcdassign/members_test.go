package etcdassign_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/faultproxy"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
)

// TestRenewAroundOneMember: with one member of three stalled (its client traffic accepted, never
// answered, then delivered late) or cut off, in turn each member, every renewal succeeds within
// its deadline, and the stored mark never goes below the highest one a renewal asked for, also
// once the stalled member gets the requests it held. With all three stalled, a renewal fails by
// its deadline.
func TestRenewAroundOneMember(t *testing.T) {
	eps := strings.Split(endpoints(), ",")
	if len(eps) < 3 {
		t.Fatalf("SNOWFALL_TEST_ETCD=%q: want three members", endpoints())
	}
	var ps []*faultproxy.Proxy
	var addrs []string
	for _, ep := range eps {
		p, err := faultproxy.New(ep)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() }) // after the Assigners' cleanups
		ps = append(ps, p)
		addrs = append(addrs, p.Addr())
	}
	g := group()
	open(t, etcdURL(), g) // drops the keys at cleanup, through connections never stalled
	a := open(t, "etcd://"+strings.Join(addrs, ",")+"/snowfall-test", g)
	raw := rawClient(t)
	// A lease of 2 s, renewed every 500 ms, each renewal given 1 s: the etcd lease (2 s) ends
	// unless renewals keep succeeding.
	const lease, every, deadline = 2 * time.Second, 500 * time.Millisecond, time.Second
	ctx := t.Context()
	c, err := leasetest.ClaimFirst(ctx, a, 4, snowfall.ClaimRequest{Token: "tok", Lease: lease, Now: time.Now(), Ahead: lease})
	if err != nil {
		t.Fatal(err)
	}
	key := a.Prefix() + "mark/" + strconv.FormatInt(c.ID, 10)
	highest := c.Mark
	checkMark := func(when string) {
		t.Helper()
		r, err := raw.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Kvs) == 0 {
			t.Fatalf("%s: %s is missing", when, key)
		}
		ms, err := strconv.ParseInt(string(r.Kvs[0].Value), 10, 64)
		if err != nil || ms < highest.UnixMilli() {
			t.Errorf("%s: %s = %q, below the highest mark asked for, %d", when, key, r.Kvs[0].Value, highest.UnixMilli())
		}
	}
	var slowest time.Duration
	for i := range 2 * len(ps) {
		m, mode := i%len(ps), "stalled"
		if i >= len(ps) {
			mode = "cut off"
			ps[m].Cut()
		} else {
			ps[m].Stall()
		}
		for k := range 3 {
			start := time.Now()
			mark := start.Add(lease)
			rctx, cancel := context.WithTimeout(ctx, deadline)
			err := a.Renew(rctx, c.ID, "tok", lease, mark)
			cancel()
			took := time.Since(start)
			slowest = max(slowest, took)
			if err != nil {
				t.Fatalf("member %d %s, renewal %d: %v (after %v)", m, mode, k, err, took.Round(time.Millisecond))
			}
			highest = mark
			time.Sleep(time.Until(start.Add(every)))
		}
		ps[m].Restore()
		time.Sleep(100 * time.Millisecond) // what the stall held reaches the member
		checkMark(fmt.Sprintf("after member %d was %s", m, mode))
	}
	t.Logf("slowest renewal %v", slowest.Round(time.Millisecond))
	// With every member stalled, a renewal fails by its deadline, not later.
	for _, p := range ps {
		p.Stall()
	}
	rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	start := time.Now()
	err = a.Renew(rctx, c.ID, "tok", lease, time.Now().Add(lease))
	cancel()
	if took := time.Since(start); err == nil || took > time.Second {
		t.Errorf("renewal with every member stalled: %v after %v, want an error by its 300ms deadline", err, took.Round(time.Millisecond))
	}
	for _, p := range ps {
		p.Restore()
	}
}
