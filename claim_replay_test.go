package snowfall_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/memassign"
)

// replayLink is one holder's connection to a memassign manifest: it records the claims it sends, so
// that the test can deliver one again (a network that duplicates a request), and can be cut off.
type replayLink struct {
	*memassign.Assigner
	mu     sync.Mutex
	cut    bool
	claims []snowfall.ClaimRequest
}

var errCut = errors.New("cut off")

func (k *replayLink) down() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cut
}

func (k *replayLink) setCut(v bool) {
	k.mu.Lock()
	k.cut = v
	k.mu.Unlock()
}

func (k *replayLink) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	if k.down() {
		return snowfall.Claim{}, errCut
	}
	k.mu.Lock()
	k.claims = append(k.claims, r)
	k.mu.Unlock()
	return k.Assigner.Claim(ctx, r)
}

func (k *replayLink) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	if k.down() {
		return errCut
	}
	return k.Assigner.Renew(ctx, id, token, lease, mark)
}

func (k *replayLink) Release(ctx context.Context, id int64, token string, mark time.Time) error {
	if k.down() {
		return errCut
	}
	return k.Assigner.Release(ctx, id, token, mark)
}

// small1995 has four generator ids and an epoch before the bubble's clock; it is built outside any
// bubble, like bubble1995.
var small1995 = func() snowfall.Layout {
	l, err := leasetest.SmallLayout().WithEpoch(bubble1995.Epoch())
	if err != nil {
		panic(err)
	}
	return l
}()

// TestReplayedClaimRevivesNothing (issue 18, defect 4): holder H's claim is applied; H is cut off
// and its lease expires; B (its clock ahead) claims the id, issues and releases it; then the network
// delivers H's claim a second time. That replay must not put H's token back on the row: if it did,
// H's next renewal would succeed and H would issue B's IDs again.
func TestReplayedClaimRevivesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		layout := small1995
		a := memassign.New(nil)
		hk := &replayLink{Assigner: a}
		s := snowfall.LeaseSettings{Layout: layout, Probe: time.Second, Clock: fakeclock.Following(0)} // lease 2 s
		h, err := snowfall.NewLeased(ctx, hk, s)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		if got := h.Lease().GeneratorID; got != 0 {
			t.Fatalf("H holds generator %d, want 0", got)
		}
		for range 3 { // hold the other ids, so that every claim below is for id 0
			o := newLeased(t, a, snowfall.LeaseSettings{Layout: layout, Probe: time.Second})
			defer o.Close()
		}
		if _, err := h.Next(); err != nil {
			t.Fatal(err)
		}
		hk.setCut(true)
		time.Sleep(3 * time.Second) // H's lease expires in the store; H is fenced
		synctest.Wait()

		// B, its clock 10 s ahead, takes id 0 over, issues and releases it.
		b, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{Layout: layout, Probe: time.Second,
			Clock: fakeclock.Following(10 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Lease().GeneratorID; got != 0 {
			t.Fatalf("B holds generator %d, want 0", got)
		}
		byB := map[snowfall.ID]bool{}
		for range 200 {
			id, err := b.Next()
			if err != nil {
				t.Fatal(err)
			}
			byB[id] = true
			time.Sleep(10 * time.Millisecond)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}

		// The network delivers H's claim again.
		hk.mu.Lock()
		first := hk.claims[0]
		hk.mu.Unlock()
		_, replayErr := a.Claim(ctx, first)
		hk.setCut(false)

		// H goes on for longer than B's clock was ahead.
		dups := 0
		var firstDup snowfall.ID
		for end := time.Now().Add(12 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
			id, err := h.Next()
			if err != nil {
				continue
			}
			if byB[id] {
				if dups == 0 {
					firstDup = id
				}
				dups++
			}
		}
		if dups > 0 {
			p, _ := layout.Decode(firstDup)
			t.Fatalf("the replayed claim (error %v) revived H's tenure: H issued %d of B's IDs again, the first %d (generator %d, tick %v); H's lease: %+v",
				replayErr, dups, firstDup, p.Generator, p.Time.UTC(), h.Lease())
		}
		if !errors.Is(replayErr, snowfall.ErrClaimConflict) {
			t.Errorf("the replayed claim: got %v, want ErrClaimConflict", replayErr)
		}
		if st := h.Lease(); st.Losses != 1 || st.State != snowfall.LeaseHeld || st.GeneratorID != 0 {
			t.Errorf("H after the network came back: %+v; want one loss, then generator 0 held again (B released it)", st)
		}
	})
}
