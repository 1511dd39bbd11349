package snowfall

import (
	"context"
	"errors"
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
