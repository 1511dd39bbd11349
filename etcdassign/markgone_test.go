package etcdassign_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
)

// TestMissingMarkAfterHolders: mark/<id> deleted (an operator's mistake) once the id's holder is
// gone is a floor nobody knows: the next claimer must not start below the IDs already issued. A
// claim read the missing key as "never claimed" and floored the id at its own clock, an hour below
// the mark the last holder had renewed to (so a claimer whose clock is behind issues IDs already
// issued). Now the manifest read fails, naming the key, until an operator puts a mark back (leases
// raise-marks), after which claims start above it. Deleting the mark while a holder runs is
// repaired by its next renewal (TestRenewRaisesMark), so a held id is not reported.
func TestMissingMarkAfterHolders(t *testing.T) {
	g := group()
	a := open(t, etcdURL(), g)
	b := open(t, etcdURL(), g)
	raw := rawClient(t)
	ctx := t.Context()
	now := time.Now().Truncate(time.Millisecond)
	c := claim(t, a, 1, "first", now, time.Second)
	high := now.Add(time.Hour)
	if err := a.Renew(ctx, c.ID, "first", time.Minute, high); err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("%smark/%d", a.Prefix(), c.ID)

	// Deleted while held: claims of other ids go on; the holder's renewal puts it back.
	if _, err := raw.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Free(ctx, snowfall.FreeRequest{Size: 2, Limit: 2, Now: now}); err != nil {
		t.Errorf("Free while the id whose mark was deleted is held: %v", err)
	}
	if err := a.Renew(ctx, c.ID, "first", time.Minute, high); err != nil {
		t.Fatalf("Renew after the deletion: %v", err)
	}

	// Deleted once the holder is gone.
	if err := a.Expire(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	next, err := leasetest.ClaimFirst(ctx, b, 1, snowfall.ClaimRequest{Token: "second", Lease: time.Minute, Now: now, Ahead: time.Second})
	switch {
	case err == nil && next.Prev.Before(high):
		t.Fatalf("a claim after %s was deleted started at floor %v (mark %v), below the mark %v its last holder renewed to",
			key, next.Prev, next.Mark, high)
	case err == nil:
	case !strings.Contains(err.Error(), key):
		t.Fatalf("claim after %s was deleted: %v; want an error naming the key", key, err)
	}
	// An operator puts a mark back; claims go on above it.
	if _, err := b.RaiseMarks(ctx, snowfall.RaiseRequest{Size: 1, To: high}); err != nil {
		t.Fatalf("RaiseMarks: %v", err)
	}
	next, err = leasetest.ClaimFirst(ctx, b, 1, snowfall.ClaimRequest{Token: "third", Lease: time.Minute, Now: now, Ahead: time.Second})
	if err != nil {
		t.Fatalf("claim after the mark was put back: %v", err)
	}
	if next.Prev.Before(high) {
		t.Errorf("claim after the mark was put back: floor %v, want at least %v", next.Prev, high)
	}
}
