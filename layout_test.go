package snowfall

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEpochValidation(t *testing.T) {
	l := DefaultLayout()
	if _, err := l.WithEpoch(time.Now().Add(time.Hour)); !errors.Is(err, ErrInvalidLayout) || !strings.Contains(err.Error(), "future") {
		t.Errorf("future epoch: %v", err)
	}
	if _, err := l.WithEpoch(time.UnixMilli(-1)); !errors.Is(err, ErrInvalidLayout) {
		t.Errorf("epoch before 1970: %v", err)
	}
	e := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l2, err := l.WithEpoch(e)
	if err != nil || !l2.Epoch().Equal(e) || l2.Name() != PresetSnowfall {
		t.Errorf("WithEpoch = %v, %v", l2, err)
	}
	if l2 == l {
		t.Error("layouts with other epochs compare equal")
	}
}

func TestTicks(t *testing.T) {
	l, _ := ParseLayout("time=39,seq=8,gen=16,unit=10ms")
	e := l.Epoch()
	for _, tt := range []struct {
		at   time.Time
		want int64
	}{
		{e, 0}, {e.Add(9 * time.Millisecond), 0}, {e.Add(10 * time.Millisecond), 1},
		{e.Add(-time.Millisecond), -1}, {e.Add(-10 * time.Millisecond), -1}, {e.Add(-11 * time.Millisecond), -2},
	} {
		if got := l.Ticks(tt.at); got != tt.want {
			t.Errorf("Ticks(epoch%+v) = %d, want %d", tt.at.Sub(e), got, tt.want)
		}
	}
}
