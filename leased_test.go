package snowfall_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/memassign"
)

// bubble1995 has an epoch before the bubble's clock, which starts in 2000. It is built outside any
// bubble: layouts check that their epoch is not in the future.
var bubble1995 = func() snowfall.Layout {
	l, err := snowfall.DefaultLayout().WithEpoch(time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	return l
}()

func bubbleLayout(*testing.T) snowfall.Layout { return bubble1995 }

func newLeased(t *testing.T, a snowfall.Assigner, s snowfall.LeaseSettings) *snowfall.Leased {
	t.Helper()
	s.Clock = fakeclock.Following(0) // the bubble's clock
	if s.Layout.IsZero() {
		s.Layout = bubbleLayout(t)
	}
	l, err := snowfall.NewLeased(context.Background(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	return l
}

func TestLeaseHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memassign.New(nil)
		l := newLeased(t, a, snowfall.LeaseSettings{})
		defer l.Close()
		time.Sleep(time.Minute + time.Millisecond)
		st := l.Lease()
		if got, want := st.Renewals, uint64(12); got != want {
			t.Errorf("renewals in a minute at the default 5 s probe: got %d, want %d", got, want)
		}
		if st.State != snowfall.LeaseHeld || st.GeneratorID != 0 {
			t.Errorf("status: got %+v, want held generator 0", st)
		}
		if got, want := st.Expires, time.Now().Add(10*time.Second-time.Millisecond); !got.Equal(want) {
			t.Errorf("expires: got %v, want %v (the last renewal plus two probes)", got, want)
		}
		if _, err := l.Next(); err != nil {
			t.Fatalf("Next: %v", err)
		}
	})
}

// TestLeaseSelfFencing: with the store unreachable, the holder issues until lease - margin after
// the start of its last renewal, and not a moment longer; then it renews and resumes.
func TestLeaseSelfFencing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memassign.New(nil)
		l := newLeased(t, a, snowfall.LeaseSettings{Probe: time.Second}) // lease 2 s, margin 200 ms
		defer l.Close()
		time.Sleep(time.Second + time.Millisecond) // just after a renewal
		synctest.Wait()
		renewed := l.Lease().LastRenewal
		a.Fail(errors.New("unreachable"))
		time.Sleep(time.Until(renewed.Add(1800*time.Millisecond - time.Millisecond)))
		if _, err := l.Next(); err != nil {
			t.Fatalf("Next 1 ms before the permit ends: %v", err)
		}
		time.Sleep(time.Millisecond)
		_, err := l.Next()
		if !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrLeaseLost) {
			t.Fatalf("Next at lease - margin: got %v, want ErrFenced wrapping ErrLeaseLost", err)
		}
		if got := l.Lease().State; got != snowfall.LeaseFenced {
			t.Errorf("state: got %q, want fenced", got)
		}
		a.Fail(nil)
		time.Sleep(time.Second)
		synctest.Wait()
		if _, err := l.Next(); err != nil {
			t.Fatalf("Next after the store came back: %v", err)
		}
		if got := l.Lease().GeneratorID; got != 0 {
			t.Errorf("generator: got %d, want 0 (the lease was not taken meanwhile)", got)
		}
	})
}

// TestLeaseLoss: a holder whose row was taken stops at its next heartbeat, reports the loss and
// continues on another id, above the thief's floor.
func TestLeaseLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memassign.New(nil)
		var reported []error
		l := newLeased(t, a, snowfall.LeaseSettings{Probe: time.Second, OnLost: func(err error) { reported = append(reported, err) }})
		if _, err := l.Next(); err != nil {
			t.Fatal(err)
		}
		a.Expire(context.Background(), 0)
		// The thief's clock is a minute ahead, so the expired id 0 (its mark 2 s ahead) is the
		// lowest whose mark is not ahead of it.
		c, err := leasetest.ClaimFirst(context.Background(), a, 2048, snowfall.ClaimRequest{Token: "thief", Lease: time.Hour,
			Now: time.Now().Add(time.Minute), Ahead: time.Hour})
		if err != nil || c.ID != 0 {
			t.Fatalf("steal: %+v, %v", c, err)
		}
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		select {
		case err := <-l.Lost():
			if !errors.Is(err, snowfall.ErrLeaseLost) {
				t.Errorf("Lost: got %v, want ErrLeaseLost", err)
			}
		default:
			t.Fatal("no loss on Lost")
		}
		if len(reported) != 1 {
			t.Errorf("OnLost calls: got %d, want 1", len(reported))
		}
		st := l.Lease()
		if st.GeneratorID != 1 || st.State != snowfall.LeaseHeld || st.Losses != 1 {
			t.Errorf("after the loss: got %+v, want held generator 1 with one loss", st)
		}
		id, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := l.Layout().Decode(id)
		if p.Generator != 1 {
			t.Errorf("ID %d has generator %d, want 1", id, p.Generator)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, ok := <-l.Lost(); ok {
			t.Error("Lost not closed by Close")
		}
		<-l.Done()
	})
}

// TestLeaseMarkIsCeilingAndFloor: the holder never issues past the recorded mark, and a new holder
// starts above the previous holder's mark even with its clock far behind.
func TestLeaseMarkIsCeilingAndFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memassign.New(nil)
		l := newLeased(t, a, snowfall.LeaseSettings{Probe: time.Second})
		id, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		st := l.Lease()
		if got, want := st.Mark, time.Now().Add(2*time.Second); got.Before(want) {
			t.Errorf("mark after the claim: got %v, want at least now + lease %v", got, want)
		}
		recs, _ := a.Leases(context.Background())
		if len(recs) != 1 || !recs[0].Mark.Equal(st.Mark) {
			t.Fatalf("recorded mark: got %+v, want %v", recs, st.Mark)
		}
		// Every other id is held, so the next holder must take id 0 back, whatever its mark.
		for i := 1; i < 2048; i++ {
			if _, err := leasetest.ClaimFirst(context.Background(), a, 2048, snowfall.ClaimRequest{Token: fmt.Sprint("other", i),
				Lease: time.Hour, Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		// A clock an hour behind, waiting up to two hours for it: the first ID comes after the mark.
		l2, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: bubbleLayout(t), Probe: time.Second,
			Clock: fakeclock.Following(-time.Hour), MaxBackwards: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		defer l2.Close()
		id2, err := l2.Next()
		if err != nil {
			t.Fatal(err)
		}
		if id2 <= id {
			t.Errorf("new holder with a clock an hour behind issued %d, not above %d", id2, id)
		}
	})
}

func TestLeaseSettingsErrors(t *testing.T) {
	a := memassign.New(nil)
	for _, tc := range []struct {
		name string
		s    snowfall.LeaseSettings
	}{
		{"lease not above probe", snowfall.LeaseSettings{Probe: time.Second, Lease: time.Second}},
		{"margin too large", snowfall.LeaseSettings{Probe: time.Second, Lease: 2 * time.Second, Margin: time.Second}},
		{"negative start", snowfall.LeaseSettings{Start: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := snowfall.NewLeased(t.Context(), a, tc.s); err == nil {
				t.Errorf("NewLeased(%+v): no error", tc.s)
			}
		})
	}
	big, _ := snowfall.ParseLayout("time=30,seq=13,gen=20")
	if _, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: big}); !errors.Is(err, snowfall.ErrInvalidLayout) {
		t.Errorf("pool of 2^20 ids: got %v, want ErrInvalidLayout", err)
	}
}

func ExampleNewLeased() {
	a := memassign.New(nil)
	l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	id, err := l.Next()
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := l.Layout().Decode(id)
	st := l.Lease()
	fmt.Println(st.State, st.GeneratorID, p.Generator)
	// Output: held 0 0
}
