package snowfall_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestCloseStopsCallsInFlight (issue 10, defect 1): a Next that loaded a valid permit and was
// preempted before reading the clock must not succeed after Close has released the id with a mark
// below the tick it would issue, or it repeats the next holder's IDs.
func TestCloseStopsCallsInFlight(t *testing.T) {
	t.Run("preempted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { testCloseInFlight(t, 0, true) })
	})
	t.Run("clock stepped back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { testCloseInFlight(t, -300*time.Millisecond, false) })
	})
}

// testCloseInFlight holds a Next in flight while the clock steps by step, Close runs and a new
// holder claims the id and issues, then lets the held Next go on.
func testCloseInFlight(t *testing.T, step time.Duration, late bool) {
	a := memassign.New(nil)
	c := fakeclock.Following(0) // the bubble's clock
	l1, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: bubble1995, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Next(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	type result struct {
		id  snowfall.ID
		err error
	}
	res := make(chan result, 1)
	// The next Now stops until released: with late, the held Next reads the clock at its release
	// (it was preempted after its permit check); without, before it stopped (preempted between
	// its clock reading and its compare-and-swap).
	hold := c.Hold(late)
	go func() {
		id, err := l1.Next()
		res <- result{id, err}
	}()
	<-hold.Entered() // that Next holds a valid permit and its clock reading
	c.SetOffset(step)
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l2 := newLeased(t, a, snowfall.LeaseSettings{}) // another host, its clock right
	defer l2.Close()
	if got := l2.Lease().GeneratorID; got != 0 {
		t.Fatalf("new holder got generator %d, want the released 0", got)
	}
	id2, err := l2.Next() // the first tick above the released mark
	if err != nil {
		t.Fatal(err)
	}
	hold.Release() // the held Next goes on, at the same instant
	r := <-res
	if r.err == nil {
		p, _ := bubble1995.Decode(r.id)
		t.Fatalf("a Next in flight during Close issued %d (tick %v) after Close returned; the next holder issued %d",
			r.id, p.Time.UTC(), id2)
	}
	if !errors.Is(r.err, snowfall.ErrFenced) || !errors.Is(r.err, snowfall.ErrClosed) {
		t.Errorf("in-flight Next: got %v, want ErrFenced wrapping ErrClosed", r.err)
	}
}

// hangingAssigner is a memassign whose next claims, while hang is above zero, block until their
// context ends, like a connection that silently drops packets.
type hangingAssigner struct {
	*memassign.Assigner
	hang atomic.Int32
}

func (h *hangingAssigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	if h.hang.Add(-1) >= 0 {
		<-ctx.Done()
		return snowfall.Claim{}, ctx.Err()
	}
	return h.Assigner.Claim(ctx, r)
}

// TestReacquireHasDeadline (issue 10, defect 5): after a loss, a claim that never answers gives up
// at the call deadline and is retried, instead of holding the keeper until TCP gives up.
func TestReacquireHasDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &hangingAssigner{Assigner: memassign.New(nil)}
		l := newLeased(t, a, snowfall.LeaseSettings{Probe: time.Second}) // lease 2 s, margin 200 ms
		defer l.Close()
		a.Expire(context.Background(), 0)
		if _, err := leasetest.ClaimFirst(context.Background(), a, 2048, snowfall.ClaimRequest{Token: "thief", Lease: time.Hour,
			Now: time.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		a.hang.Store(1)
		time.Sleep(time.Second + time.Millisecond) // the renewal finds the loss; the claim hangs
		synctest.Wait()
		if st := l.Lease(); st.State != snowfall.LeaseLost {
			t.Fatalf("after the loss: state %q, want lost", st.State)
		}
		time.Sleep(15 * time.Second)
		synctest.Wait()
		st := l.Lease()
		if st.State != snowfall.LeaseHeld || st.GeneratorID != 1 {
			t.Fatalf("15 s after a claim stopped answering: got %+v, want held generator 1 (the claim must time out and be retried)", st)
		}
		if !errors.Is(st.LastError, context.DeadlineExceeded) {
			t.Errorf("last error: got %v, want the hung claim's deadline", st.LastError)
		}
		if _, err := l.Next(); err != nil {
			t.Fatalf("Next after re-acquiring: %v", err)
		}
	})
}

// TestReadyAfterClose: a closed (sealed) generator is not ready, and says it was closed, not that
// its layout ran out (the seal bit must not be read as a tick).
func TestReadyAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLeased(t, memassign.New(nil), snowfall.LeaseSettings{})
		if err := l.Ready(); err != nil {
			t.Fatalf("Ready while held: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Ready(); !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrClosed) {
			t.Errorf("Ready after Close: got %v, want ErrFenced wrapping ErrClosed", err)
		}
	})
}
