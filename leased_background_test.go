package snowfall_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
	"github.com/snowfall-go/snowfall/memassign"
)

// twoIDs is a layout with two generator ids, whose epoch is before the bubble's clock.
var twoIDs = func() snowfall.Layout {
	l, err := snowfall.ParseLayout("time=41,seq=21,gen=1")
	if err == nil {
		l, err = l.WithEpoch(time.Date(1995, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	if err != nil {
		panic(err)
	}
	return l
}()

// lockedLog collects log records.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// TestLeaseBackground: with Background, NewLeased returns at once although no id can be claimed,
// reports LeaseAcquiring with the reason, refuses to issue, logs the failing claims once, and holds
// an id once the condition passes. Without it, NewLeased returns the claim's error.
func TestLeaseBackground(t *testing.T) {
	t.Run("marks ahead", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := memassign.New(nil)
			// Two holders whose clocks are 5 s ahead issue and release: both ids' marks are ahead
			// of a right clock by more than a generator waits out (1 s).
			var holders []*snowfall.Leased
			var last time.Time
			for range 2 {
				h, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: twoIDs, Probe: time.Second,
					Clock: fakeclock.Following(5 * time.Second)})
				if err != nil {
					t.Fatal(err)
				}
				id, err := h.Next()
				if err != nil {
					t.Fatal(err)
				}
				p, _ := twoIDs.Decode(id)
				last = p.Time
				holders = append(holders, h)
			}
			for _, h := range holders {
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
			}
			settings := snowfall.LeaseSettings{Layout: twoIDs, Probe: time.Second, Clock: fakeclock.Following(0)}
			if _, err := snowfall.NewLeased(context.Background(), a, settings); !errors.Is(err, snowfall.ErrClockBackwards) {
				t.Fatalf("NewLeased without Background: %v, want the claim's ErrClockBackwards", err)
			}
			log := &lockedLog{}
			settings.Background = true
			settings.Logger = slog.New(slog.NewTextHandler(log, nil))
			start := time.Now()
			l, err := snowfall.NewLeased(context.Background(), a, settings)
			if err != nil {
				t.Fatalf("NewLeased with Background: %v", err)
			}
			defer l.Close()
			if d := time.Since(start); d != 0 {
				t.Errorf("NewLeased took %v", d)
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			st := l.Lease()
			if st.State != snowfall.LeaseAcquiring || st.GeneratorID != -1 || st.Failures < 3 || !errors.Is(st.LastError, snowfall.ErrClockBackwards) {
				t.Errorf("after 2s: %+v, want acquiring, no id, several failures for marks ahead", st)
			}
			if _, err := l.Next(); !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, snowfall.ErrLeaseLost) {
				t.Errorf("Next while acquiring: %v, want ErrFenced wrapping ErrLeaseLost", err)
			}
			if err := l.Ready(); err == nil {
				t.Error("Ready while acquiring: nil")
			}
			time.Sleep(4 * time.Second)
			synctest.Wait()
			if st := l.Lease(); st.State != snowfall.LeaseHeld || st.GeneratorID < 0 {
				t.Fatalf("after 6s: %+v, want held", st)
			}
			id, err := l.Next()
			if err != nil {
				t.Fatal(err)
			}
			if p, _ := twoIDs.Decode(id); !p.Time.After(last) {
				t.Errorf("first ID at %v, not above the marks (last ID at %v)", p.Time, last)
			}
			if n := log.count("claim failed"); n != 1 {
				t.Errorf("%d log lines for the failed claims, want 1:\n%s", n, log.b.String())
			}
		})
	})
	t.Run("no free id", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := memassign.New(nil)
			settings := snowfall.LeaseSettings{Layout: twoIDs, Probe: time.Second, Clock: fakeclock.Following(0)}
			h1 := newLeased(t, a, settings)
			defer h1.Close()
			h2 := newLeased(t, a, settings)
			defer h2.Close()
			settings.Background = true
			l := newLeased(t, a, settings)
			defer l.Close()
			time.Sleep(time.Second)
			synctest.Wait()
			if st := l.Lease(); st.State != snowfall.LeaseAcquiring || !errors.Is(st.LastError, snowfall.ErrNoFreeGenerator) {
				t.Errorf("with every id held: %+v, want acquiring for no free id", st)
			}
			id := h1.Lease().GeneratorID
			h1.Close()
			time.Sleep(time.Second)
			synctest.Wait()
			if st := l.Lease(); st.State != snowfall.LeaseHeld || st.GeneratorID != id {
				t.Errorf("after generator %d was released: %+v, want it held", id, st)
			}
		})
	})
	t.Run("closed while acquiring", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a := memassign.New(nil)
			a.Fail(errors.New("store down"))
			_, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: twoIDs, Probe: time.Second,
				Clock: fakeclock.Following(0), Background: true})
			if err == nil {
				t.Fatal("NewLeased read no manifest from a failing store, and returned no error")
			}
			a.Fail(nil)
			l, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: twoIDs, Probe: time.Second,
				Clock: fakeclock.Following(0), Background: true})
			if err != nil {
				t.Fatal(err)
			}
			a.Fail(errors.New("store down"))
			time.Sleep(3 * time.Second)
			if st := l.Lease(); st.State != snowfall.LeaseAcquiring || st.LastError == nil {
				t.Errorf("store down: %+v, want acquiring with the error", st)
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			<-l.Done()
			if st := l.Lease(); st.State != snowfall.LeaseClosed {
				t.Errorf("after Close: %+v, want closed", st)
			}
		})
	})
}
