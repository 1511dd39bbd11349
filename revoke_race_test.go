package snowfall

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRevokeRacesGrant: a Revoke and a Grant made at once (the raw Generator API) each take effect
// whole, in some order: afterwards the generator either refuses with a FenceError, and issued
// nothing past the tick Revoke returned, or issues (the Grant came last). It never hangs: a Revoke
// whose permit store the Grant's overtook, but whose seal came after the Grant's look for one, left
// the seal under an open permit, and every call then spun, waiting for a Grant "lifting the seal".
func TestRevokeRacesGrant(t *testing.T) {
	deadline := time.Now().Add(10 * time.Second)
	var hung, granted, revoked int
	for i := 0; i < 1500 && time.Now().Before(deadline); i++ {
		g := newGen(t, Settings{})
		g.Grant(Permit{})
		if _, err := g.Next(); err != nil {
			t.Fatal(err)
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			final time.Time
			mu    sync.Mutex
			ids   []ID
			stop  = make(chan struct{})
		)
		issuers := sync.WaitGroup{}
		issuers.Go(func() { // issues throughout
			for {
				select {
				case <-stop:
					return
				default:
				}
				if id, err := g.TryNext(); err == nil {
					mu.Lock()
					ids = append(ids, id)
					mu.Unlock()
				}
			}
		})
		wg.Go(func() { <-start; final = g.Revoke(ErrClosed) })
		wg.Go(func() { <-start; g.Grant(Permit{}) })
		close(start)
		wg.Wait()
		res := make(chan error, 1)
		go func() { _, err := g.TryNext(); res <- err }()
		var err error
		select {
		case err = <-res:
		case <-time.After(2 * time.Second):
			hung++
			close(stop)
			// Unstick the spinning calls so that the test's goroutines end.
			g.Grant(Permit{})
			<-res
			issuers.Wait()
			continue
		}
		close(stop)
		issuers.Wait()
		switch {
		case err == nil:
			granted++
		case errors.Is(err, ErrFenced):
			revoked++
			// Revoke came last: nothing issued past the tick it returned.
			for _, id := range ids {
				if p, _ := g.Layout().Decode(id); p.Time.After(final) {
					t.Fatalf("iteration %d: Revoke returned %s and held, yet %d (%s) was issued",
						i, final.Format(TimeFormat), id, p.Time.Format(TimeFormat))
				}
			}
		default:
			t.Fatalf("iteration %d: TryNext after the race: %v", i, err)
		}
		if hung > 0 {
			break
		}
	}
	t.Logf("granted last %d, revoked last %d, hung %d", granted, revoked, hung)
	if hung > 0 {
		t.Errorf("%d iterations left the generator sealed under an open permit: TryNext hung", hung)
	}
}
