package snowfall

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestSystemClockFollowsWallClock(t *testing.T) {
	c := SystemClock()
	for range 5 {
		got, want := c.Now(), time.Now()
		if d := got.Sub(want).Abs(); d > 20*time.Millisecond {
			t.Fatalf("SystemClock().Now() = %v, time.Now() = %v: %v apart", got, want, d)
		}
		time.Sleep(3 * time.Millisecond)
	}
}

func TestOffsetClock(t *testing.T) {
	c := OffsetClock(-5 * time.Second)
	got := time.Since(c.Now())
	if got < 5*time.Second-20*time.Millisecond || got > 5*time.Second+20*time.Millisecond {
		t.Fatalf("OffsetClock(-5s) is %v behind, want 5s", got)
	}
}

func TestStampSinceTakesTheLarger(t *testing.T) {
	s := Stamp{wall: 1000, mono: 1000}
	tests := []struct {
		name string
		now  Stamp
		want time.Duration
	}{
		{"both", Stamp{1500, 1500}, 500},
		{"suspended: monotonic stopped", Stamp{9000, 1100}, 8000},
		{"wall clock stepped back", Stamp{500, 3000}, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Since(tt.now); got != tt.want {
				t.Errorf("Since = %v, want %v", got, tt.want)
			}
		})
	}
}

// fakeTime is a timeSource whose machine the test can suspend: Suspend moves the wall clock and
// leaves the monotonic clock where it was, as Linux's CLOCK_MONOTONIC does across a suspend.
type fakeTime struct {
	mu   sync.Mutex
	w, m int64 // wall-clock Unix nanoseconds; monotonic nanoseconds since monoBase
}

func (f *fakeTime) mono() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m
}

func (f *fakeTime) now() (wall, mono int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.w, f.m
}

// Run moves both clocks by d.
func (f *fakeTime) Run(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w += int64(d)
	f.m += int64(d)
}

// Suspend moves the wall clock by d: the machine slept for d.
func (f *fakeTime) Suspend(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.w += int64(d)
}

// TestPermitLapsesAcrossSuspend (issue 18, defect 8): the system clock derives the wall time from
// the monotonic clock and an anchor re-read every resync; the monotonic clock stops while the
// machine is suspended, so for up to resync after a resume neither measure showed the suspension
// and a permit that lapsed during it still let the generator issue.
func TestPermitLapsesAcrossSuspend(t *testing.T) {
	for _, run := range []time.Duration{0, time.Millisecond, resync - time.Microsecond} {
		t.Run(fmt.Sprintf("resumed %v after the anchor", run), func(t *testing.T) {
			src := &fakeTime{w: t0.UnixNano(), m: int64(time.Hour)}
			g := newGen(t, Settings{Clock: newSysClockFrom(0, src)})
			g.Grant(Permit{Start: g.Stamp(), Valid: time.Second})
			if _, err := g.Next(); err != nil {
				t.Fatalf("within the permit: %v", err)
			}
			src.Suspend(time.Hour) // the lease expired in the store long ago
			src.Run(run)           // less than resync since the anchor: no re-anchor yet
			if id, err := g.Next(); !errors.Is(err, ErrFenced) {
				t.Errorf("Next after a suspend of an hour = %d, %v; want ErrFenced", id, err)
			}
			if g.Fenced() == nil {
				t.Error("Fenced() = nil after a suspend of an hour")
			}
			if err := g.Ready(); !errors.Is(err, ErrFenced) {
				t.Errorf("Ready() = %v after a suspend of an hour, want ErrFenced", err)
			}
		})
	}
}
