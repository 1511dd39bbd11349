package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestChecks plants each kind of violation in a model driven by hand (no bubble, no faults) and
// asserts that the checks report it, and nothing else.
func TestChecks(t *testing.T) {
	type env struct {
		s    *sim
		inst [2]*instance
		now  time.Time
	}
	claim := func(e *env, h int, token string) snowfall.Claim {
		free, err := e.s.m.free(snowfall.FreeRequest{Size: poolSize, Now: e.now, Limit: 1})
		if err != nil || len(free) == 0 {
			t.Fatalf("free: %v, %v", free, err)
		}
		c, err := e.s.m.claim(snowfall.ClaimRequest{Free: free[0], Token: token, Lease: lease, Now: e.now,
			Ahead: lease, Holder: snowfall.Holder{Host: []string{"h0", "h1"}[h], PID: 0}})
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		e.s.m.delivered(c.ID, token)
		return c
	}
	id := func(gen int64, at time.Time, seq int64) snowfall.ID {
		v, err := layout.Compose(layout.Ticks(at), seq, snowfall.Node{Generator: gen})
		if err != nil {
			t.Fatalf("compose: %v", err)
		}
		return v
	}
	issue := func(e *env, h int, ids ...snowfall.ID) { e.s.issued(e.inst[h], 0, ids, time.Now()) }
	ms := func(e *env, n int) time.Time { return e.now.Add(time.Duration(n) * time.Millisecond) }
	for _, c := range []struct {
		name string
		run  func(e *env)
		want map[string]int
	}{
		{"clean", func(e *env) {
			c := claim(e, 0, "a")
			issue(e, 0, id(c.ID, ms(e, 1), 0), id(c.ID, ms(e, 1), 1), id(c.ID, ms(e, 2), 0))
		}, map[string]int{}},
		{"duplicate", func(e *env) {
			c := claim(e, 0, "a")
			issue(e, 0, id(c.ID, ms(e, 1), 0))
			issue(e, 1, id(c.ID, ms(e, 1), 0))
		}, map[string]int{"duplicate": 1, "fence": 0}},
		{"above the ceiling", func(e *env) {
			c := claim(e, 0, "a")
			issue(e, 0, id(c.ID, c.Mark.Add(time.Millisecond), 0))
		}, map[string]int{"fence": 1}},
		{"no tenure", func(e *env) {
			claim(e, 0, "a")
			issue(e, 0, id(5, ms(e, 1), 0))
		}, map[string]int{"fence": 1}},
		{"after release", func(e *env) {
			c := claim(e, 0, "a")
			if err := e.s.m.release(c.ID, "a", ms(e, 10)); err != nil {
				t.Fatal(err)
			}
			issue(e, 0, id(c.ID, ms(e, 10), 0), id(c.ID, ms(e, 11), 0))
		}, map[string]int{"after-release": 1}},
		{"order across tenures", func(e *env) {
			c := claim(e, 0, "a")
			issue(e, 0, id(c.ID, ms(e, 50), 0))
			if err := e.s.m.release(c.ID, "a", ms(e, 10)); err != nil {
				t.Fatal(err)
			}
			at := ms(e, 20)
			e.now = ms(e, 30) // past the released mark: the claim prefers ids whose mark is not ahead
			c2 := claim(e, 1, "b")
			if c2.ID != c.ID {
				t.Fatalf("second claim took generator %d, want the released %d", c2.ID, c.ID)
			}
			issue(e, 1, id(c2.ID, at, 0))
		}, map[string]int{"after-release": 1, "order": 1, "order:close-race": 1}},
		{"order within a worker", func(e *env) {
			c := claim(e, 0, "a")
			issue(e, 0, id(c.ID, ms(e, 5), 0))
			issue(e, 0, id(c.ID, ms(e, 4), 0))
		}, map[string]int{"order": 1}},
		{"revived", func(e *env) {
			// A store that applies a claim again to the row as it then is (the seam of
			// Options.UnconditionedReplays): the tenure of h0 holds the row again after h1's.
			free, err := e.s.m.free(snowfall.FreeRequest{Size: poolSize, Now: e.now, Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			r := snowfall.ClaimRequest{Free: free[0], Token: "a", Lease: lease, Now: e.now, Ahead: lease,
				Holder: snowfall.Holder{Host: "h0"}}
			c, err := e.s.m.claim(r)
			if err != nil {
				t.Fatal(err)
			}
			e.s.m.delivered(c.ID, "a")
			if _, err := e.s.m.claim(r); err == nil {
				t.Fatal("the same claim applied twice succeeded")
			}
			e.s.m.a.Expire(t.Context(), c.ID)
			e.now = c.Mark.Add(time.Millisecond)
			c2 := claim(e, 1, "b")
			if err := e.s.m.release(c2.ID, "b", c2.Mark); err != nil {
				t.Fatal(err)
			}
			e.s.m.claimAsIs(r)
		}, map[string]int{"revived": 1}},
		{"mark lowered", func(e *env) {
			// memassign keeps marks rising, so the lowered mark is reported to the model as a
			// store that lowered it would: the check is the model's, whatever the store does.
			c := claim(e, 0, "a")
			high, low := c.Mark.Add(time.Second), c.Mark.Add(time.Second/2)
			if err := e.s.m.renew(c.ID, "a", lease, high); err != nil {
				t.Fatal(err)
			}
			e.s.m.mu.Lock()
			e.s.m.renewed(c.ID, "a", lease, low, low)
			e.s.m.mu.Unlock()
		}, map[string]int{"mark-lowered": 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &sim{start: time.Now(), byID: map[snowfall.ID]int{},
				res: Result{Faults: map[string]int{}, Violations: map[string]int{}, Causes: map[string]int{}}}
			s.m = newModel(s)
			e := &env{s: s, inst: [2]*instance{{slot: 0}, {slot: 1}}, now: time.Now()}
			c.run(e)
			s.check()
			got := map[string]int{}
			for k, v := range s.res.Violations {
				got[k] = v
			}
			for k, v := range s.res.Causes {
				got[k] = v
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: got %d, want %d (all: %v; %v)", k, got[k], v, got, s.res.Reports)
				}
			}
			for k, v := range got {
				if _, ok := c.want[k]; !ok && v != 0 && !strings.Contains(k, ":") {
					t.Errorf("unexpected %s: %d (%v)", k, v, s.res.Reports)
				}
			}
		})
	}
}
