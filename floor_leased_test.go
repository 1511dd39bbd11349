package snowfall_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestLeasedFloor: a leased fleet given a migration floor issues only above it, in every tenure,
// whichever of the floor and the lease's own floor (the previous holder's mark) is later; a floor
// further ahead than MaxBackwards is refused, naming it.
func TestLeasedFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := memassign.New(nil)
		// The old generator's largest ID: half a second ahead of this clock (it ran ahead).
		old, err := bubble1995.Compose(bubble1995.Ticks(time.Now().Add(500*time.Millisecond)), 4095, snowfall.Node{Generator: 0})
		if err != nil {
			t.Fatal(err)
		}
		floor, err := snowfall.ParseFloor(bubble1995, old.String())
		if err != nil {
			t.Fatal(err)
		}
		l1 := newLeased(t, a, snowfall.LeaseSettings{After: floor})
		id, err := l1.Next() // waits half a second for its clock
		if err != nil {
			t.Fatal(err)
		}
		if id <= old {
			t.Fatalf("first tenure issued %d, at or below the floor %d", id, old)
		}
		// The next tenure of the id: the lease's floor (l1's mark) is later than the migration
		// floor, and wins.
		if err := l1.Close(); err != nil {
			t.Fatal(err)
		}
		l2 := newLeased(t, a, snowfall.LeaseSettings{After: floor})
		defer l2.Close()
		id2, err := l2.Next()
		if err != nil {
			t.Fatal(err)
		}
		if id2 <= id {
			t.Fatalf("second tenure issued %d, not above the first tenure's %d", id2, id)
		}

		far := time.Now().Add(2 * time.Second)
		_, err = snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: bubble1995, After: far})
		if !errors.Is(err, snowfall.ErrClockBackwards) || !strings.Contains(err.Error(), "LeaseSettings.After") || !strings.Contains(err.Error(), "at most") {
			t.Errorf("a floor 2 s ahead with MaxBackwards 1 s: NewLeased = %v, want ErrClockBackwards naming After and the limit", err)
		}
	})
}
