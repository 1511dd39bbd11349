package leasetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// testLost: a holder whose row is taken stops issuing at once and gets a new id.
func testLost(t *testing.T, b Backend) {
	a := b.New(t)
	s := snowfall.LeaseSettings{Layout: SmallLayout(), Probe: 100 * time.Millisecond}
	l := lease(t, a, s)
	if _, err := l.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	st := l.Lease()
	// Take the row over, as another instance would after the lease expired.
	thief := stealer{a}
	if err := thief.steal(t, st.GeneratorID, s.Layout); err != nil {
		t.Skipf("backend cannot simulate a takeover: %v", err)
	}
	select {
	case err := <-l.Lost():
		if !errors.Is(err, snowfall.ErrLeaseLost) {
			t.Errorf("loss: got %v, want ErrLeaseLost", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no loss reported")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := l.Next()
		if err == nil && l.Lease().GeneratorID != st.GeneratorID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new id after the loss: last error %v, status %+v", err, l.Lease())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stealer takes a held row over through the assigner's Expire hook.
type stealer struct{ a snowfall.Assigner }

// Expirer is implemented by assigners that can end a lease early, for tests.
type Expirer interface {
	Expire(ctx context.Context, id int64) error
}

func (s stealer) steal(t *testing.T, id int64, l snowfall.Layout) error {
	e, ok := s.a.(Expirer)
	if !ok {
		return errors.New("no Expire method")
	}
	if err := e.Expire(t.Context(), id); err != nil {
		return err
	}
	// Claim it, as Free reads it now.
	_, err := ClaimID(t.Context(), s.a, snowfall.PoolSize(l), id, snowfall.ClaimRequest{Token: "thief",
		Lease: time.Minute, Now: time.Now().Add(time.Hour), Ahead: time.Minute})
	return err
}

func testUnreachable(t *testing.T, b Backend) {
	a, cut, restore := b.Faulty(t)
	const probe, leaseLen = 200 * time.Millisecond, 600 * time.Millisecond
	l := lease(t, a, snowfall.LeaseSettings{Layout: SmallLayout(), Probe: probe, Lease: leaseLen})
	time.Sleep(probe + 50*time.Millisecond) // let a renewal happen
	if _, err := l.Next(); err != nil {
		t.Fatalf("Next: %v", err)
	}
	cut()
	cutAt := time.Now()
	var lastOK, fenced time.Time
	for time.Since(cutAt) < 3*leaseLen {
		_, err := l.Next()
		now := time.Now()
		if err == nil {
			if !fenced.IsZero() {
				t.Fatalf("issued again %v after being fenced, while cut", now.Sub(fenced))
			}
			lastOK = now
		} else {
			if !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrLeaseLost) {
				t.Fatalf("Next while cut: got %v, want ErrFenced wrapping ErrLeaseLost", err)
			}
			if fenced.IsZero() {
				fenced = now
			}
		}
		time.Sleep(time.Millisecond)
	}
	st := l.Lease()
	if fenced.IsZero() {
		t.Fatalf("still issuing %v after the store became unreachable", time.Since(cutAt))
	}
	// The last renewal began at or before st.LastRenewal; the store's lease ends at least
	// leaseLen after that.
	if !lastOK.IsZero() && !lastOK.Before(st.LastRenewal.Add(leaseLen)) {
		t.Errorf("issued at %v, not before the lease could expire (%v)", lastOK, st.LastRenewal.Add(leaseLen))
	}
	if st.State != "fenced" {
		t.Errorf("state while cut: got %q, want fenced", st.State)
	}
	t.Logf("fenced %v after the cut (last renewal %v before the cut)", fenced.Sub(cutAt).Round(time.Millisecond),
		cutAt.Sub(st.LastRenewal).Round(time.Millisecond))
	restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := l.Next()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not issuing 10 s after the store came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("issuing again %v after the restore", time.Since(deadline.Add(-10*time.Second)).Round(time.Millisecond))
}
