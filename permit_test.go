package snowfall

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

func TestPermit(t *testing.T) {
	clk := fakeclock.New(t0)
	g := newGen(t, Settings{Clock: clk})
	lost := errors.New("lease 7 lost")
	g.Grant(Permit{Until: t0.Add(10 * time.Millisecond), Start: g.Stamp(), Valid: time.Second, Cause: lost})
	if _, err := g.Next(); err != nil {
		t.Fatalf("within the permit: %v", err)
	}

	clk.Set(t0.Add(11 * time.Millisecond))
	_, err := g.Next()
	if !errors.Is(err, ErrFenced) || !errors.Is(err, lost) {
		t.Fatalf("past the ceiling: %v, want ErrFenced wrapping the cause", err)
	}
	if g.Fenced() == nil || g.Stats().Fenced == nil {
		t.Error("Fenced() and Stats().Fenced are nil while fenced")
	}

	g.Grant(Permit{Start: g.Stamp(), Valid: time.Second})
	if _, err := g.Next(); err != nil {
		t.Fatalf("after a new grant: %v", err)
	}
	clk.Add(time.Second)
	if _, err := g.Next(); !errors.Is(err, ErrFenced) || !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("after the permit lapsed: %v, want ErrFenced and ErrLeaseLost", err)
	}

	g.Grant(Permit{})
	if _, err := g.Next(); err != nil {
		t.Fatalf("unbounded permit: %v", err)
	}
	g.Revoke(lost)
	if _, err := g.Next(); !errors.Is(err, lost) {
		t.Fatalf("after Revoke: %v", err)
	}
	if _, err := g.Fill(context.Background(), make([]ID, 3)); !errors.Is(err, ErrFenced) {
		t.Fatalf("Fill after Revoke: %v", err)
	}
}

// A process stopped past its permit (SIGSTOP, a long GC pause) must not issue one more ID when it
// wakes, even before any lease code runs.
func TestPermitLapsesWhileStopped(t *testing.T) {
	g := newGen(t, Settings{})
	g.Grant(Permit{Start: g.Stamp(), Valid: 30 * time.Millisecond})
	if _, err := g.Next(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(40 * time.Millisecond)
	if _, err := g.Next(); !errors.Is(err, ErrFenced) {
		t.Fatalf("Next after the pause = %v, want ErrFenced", err)
	}
}

// callClock is a Clock that arms a fakeclock hold on its armAt-th call counted from arm, so a test
// can stop a goroutine at a chosen clock reading inside one Next.
type callClock struct {
	*fakeclock.Clock
	mu    sync.Mutex
	calls int
	armAt int
	late  bool
	held  chan *fakeclock.Hold
}

func (c *callClock) arm(at int, late bool) chan *fakeclock.Hold {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls, c.armAt, c.late, c.held = 0, at, late, make(chan *fakeclock.Hold, 1)
	return c.held
}

func (c *callClock) Now() time.Time {
	c.mu.Lock()
	c.calls++
	if c.calls == c.armAt {
		c.held <- c.Clock.Hold(c.late)
	}
	c.mu.Unlock()
	return c.Clock.Now()
}

// TestRevokeThenGrantStopsCallsInFlight (issue 18, defect 5): a Next that loaded the state before
// Revoke must not issue after a later Grant: Grant used to restore the very word it had loaded, so
// its compare-and-swap succeeded, under the permit it had checked before Revoke, past the one the
// Grant set.
func TestRevokeThenGrantStopsCallsInFlight(t *testing.T) {
	clk := &callClock{Clock: fakeclock.New(t0)}
	g := newGen(t, Settings{Clock: clk})
	g.Grant(Permit{}) // no ceiling
	if _, err := g.Next(); err != nil {
		t.Fatal(err)
	}
	// The clock one tick behind: the next Next reads it (1st call), loads the state, sees it
	// behind, loads the state again and reads the clock once more (2nd call), held there, the
	// state it will swap from in hand.
	clk.Add(-time.Millisecond)
	held := clk.arm(2, true)
	type result struct {
		id  ID
		err error
	}
	res := make(chan result, 1)
	go func() {
		id, err := g.Next()
		res <- result{id, err}
	}()
	h := <-held
	<-h.Entered()
	final := g.Revoke(ErrClosed)
	g.Grant(Permit{Until: final}) // a new permit: nothing past the tick Revoke sealed
	clk.Set(t0.Add(5 * time.Millisecond))
	h.Release() // the held Next reads the clock at its release: 5 ms past the ceiling
	r := <-res
	if r.err == nil {
		p, _ := g.Layout().Decode(r.id)
		t.Fatalf("a Next in flight across Revoke and Grant issued %d (tick %s), past the ceiling %s the Grant set",
			r.id, p.Time.Format(TimeFormat), final.Format(TimeFormat))
	}
	if !errors.Is(r.err, ErrFenced) {
		t.Errorf("in-flight Next: got %v, want ErrFenced", r.err)
	}
	// The generator issues on after the Grant, within the new permit.
	clk.Set(final)
	id, err := g.Next()
	if err != nil {
		t.Fatalf("Next after the Grant, within its permit: %v", err)
	}
	if p, _ := g.Layout().Decode(id); !p.Time.Equal(final) {
		t.Errorf("Next after the Grant issued tick %v, want %v", p.Time, final)
	}
}

// TestRevokeGrantSequences runs seeded random sequences of Next, Revoke, Grant and clock moves on
// a generator with two IDs per tick (so Grants land on full and on open ticks) and checks after
// every step: IDs increase, none has a tick ahead of the clock, Issued counts exactly the IDs
// returned, a revoked generator issues nothing, and Revoke returns a tick at or above every ID
// issued before it.
func TestRevokeGrantSequences(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 0))
		clk := fakeclock.New(t0)
		g := newGen(t, Settings{Clock: clk, Layout: smallLayout(t)})
		var last ID
		issued, revoked := uint64(0), false
		for step := range 60 {
			switch op := rng.IntN(10); {
			case op < 5:
				id, err := g.Next()
				switch {
				case revoked && err == nil:
					t.Fatalf("seed %d step %d: Next issued %d while revoked", seed, step, id)
				case !revoked && err != nil:
					t.Fatalf("seed %d step %d: Next: %v", seed, step, err)
				case err == nil:
					if id <= last {
						t.Fatalf("seed %d step %d: ID %d after %d", seed, step, id, last)
					}
					// The clock only moves forward here, so no ID may have a later tick.
					if p, _ := g.Layout().Decode(id); p.Time.After(clk.Now()) {
						t.Fatalf("seed %d step %d: ID %d has tick %v, ahead of the clock %v", seed, step, id, p.Time, clk.Now())
					}
					last = id
					issued++
				}
			case op < 7:
				final := g.Revoke(nil)
				if p, _ := g.Layout().Decode(last); last != 0 && p.Time.After(final) {
					t.Fatalf("seed %d step %d: Revoke returned %v, below the last ID's tick %v", seed, step, final, p.Time)
				}
				revoked = true
			case op < 9:
				g.Grant(Permit{})
				revoked = false
			default:
				clk.Add(time.Duration(rng.IntN(3)) * time.Millisecond)
			}
			if got := g.Stats().Issued; got != issued {
				t.Fatalf("seed %d step %d: Issued = %d, want %d", seed, step, got, issued)
			}
		}
	}
}
