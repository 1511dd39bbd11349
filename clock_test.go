package snowfall

import (
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
