package snowfall

import (
	"context"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to, or when a generator sleeps on it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Sleep advances the clock by d, as if the caller had slept.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Add(d)
	return nil
}

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
