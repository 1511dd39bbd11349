package fakeclock

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestStandsStill(t *testing.T) {
	c := New(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	c.Add(-time.Second)
	if got, want := c.Now(), t0.Add(-time.Second); !got.Equal(want) {
		t.Fatalf("after Add(-1s): Now = %v, want %v", got, want)
	}
	if err := c.Sleep(context.Background(), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, want := c.Now(), t0.Add(2*time.Second); !got.Equal(want) {
		t.Fatalf("after Sleep(3s): Now = %v, want %v", got, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Second); err == nil {
		t.Fatal("Sleep on a done context returned nil")
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("after Set: Now = %v, want %v", got, t0)
	}
}

func TestFollowing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Following(-time.Hour)
		if got, want := c.Now(), time.Now().Add(-time.Hour); !got.Equal(want) {
			t.Fatalf("Now = %v, want %v", got, want)
		}
		start := time.Now()
		if err := c.Sleep(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Fatalf("Sleep(5s) took %v of bubble time", got)
		}
		c.Set(t0)
		if got := c.Now(); !got.Equal(t0) {
			t.Fatalf("after Set: Now = %v, want %v", got, t0)
		}
		c.Add(time.Minute)
		time.Sleep(time.Second)
		if got, want := c.Now(), t0.Add(time.Minute+time.Second); !got.Equal(want) {
			t.Fatalf("Now = %v, want %v", got, want)
		}
		c.SetOffset(0)
		if got := c.Offset(); got != 0 {
			t.Fatalf("Offset = %v after SetOffset(0)", got)
		}
	})
}

func TestHold(t *testing.T) {
	for _, late := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			c := Following(0)
			h := c.Hold(late)
			start := time.Now()
			got := make(chan time.Time)
			go func() { got <- c.Now() }()
			<-h.Entered()
			time.Sleep(time.Second)
			c.Now() // not held: the hold is taken once
			h.Release()
			h.Release()
			want := start
			if late {
				want = start.Add(time.Second)
			}
			if g := <-got; !g.Equal(want) {
				t.Errorf("late=%v: held Now = %v, want %v", late, g, want)
			}
		})
	}
}
