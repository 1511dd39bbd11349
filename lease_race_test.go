package snowfall_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/memassign"
)

// armedClock is the bubble's clock shifted by offset; once armed, the next Now() call stops until
// release is closed, reading the time before it stops (a goroutine held between its clock reading
// and its compare-and-swap) or, when late is set, after (held between its permit check and its
// clock reading): a preemption on demand.
type armedClock struct {
	bubbleClock
	offset           atomic.Int64
	late             bool // read the time after the release, not before the stop
	armed            atomic.Bool
	entered, release chan struct{}
}

func newArmedClock() *armedClock {
	return &armedClock{entered: make(chan struct{}), release: make(chan struct{})}
}

func (c *armedClock) Now() time.Time {
	now := time.Now().Add(time.Duration(c.offset.Load()))
	if c.armed.CompareAndSwap(true, false) {
		close(c.entered)
		<-c.release
		if c.late {
			now = time.Now().Add(time.Duration(c.offset.Load()))
		}
	}
	return now
}

// TestCloseStopsCallsInFlight (issue 10, defect 1): a Next that loaded a valid permit and was
// preempted before reading the clock must not succeed after Close has released the id with a mark
// below the tick it would issue, or it repeats the next holder's IDs.
func TestCloseStopsCallsInFlight(t *testing.T) {
	t.Run("preempted", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { testCloseInFlight(t, 0, true) })
	})
	t.Run("clock stepped back", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) { testCloseInFlight(t, -300*time.Millisecond, false) })
	})
}

// testCloseInFlight holds a Next in flight while the clock steps by step, Close runs and a new
// holder claims the id and issues, then lets the held Next go on.
func testCloseInFlight(t *testing.T, step time.Duration, late bool) {
	a := memassign.New(nil)
	c := newArmedClock()
	c.late = late
	l1, err := snowfall.NewLeased(context.Background(), a, snowfall.LeaseSettings{Layout: bubble1995, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l1.Next(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	type result struct {
		id  snowfall.ID
		err error
	}
	res := make(chan result, 1)
	c.armed.Store(true)
	go func() {
		id, err := l1.Next()
		res <- result{id, err}
	}()
	<-c.entered // that Next holds a valid permit and its clock reading
	c.offset.Store(int64(step))
	if err := l1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l2 := newLeased(t, a, snowfall.LeaseSettings{}) // another host, its clock right
	defer l2.Close()
	if got := l2.Lease().Generator; got != 0 {
		t.Fatalf("new holder got generator %d, want the released 0", got)
	}
	id2, err := l2.Next() // the first tick above the released mark
	if err != nil {
		t.Fatal(err)
	}
	close(c.release) // the held Next goes on, at the same instant
	r := <-res
	if r.err == nil {
		p, _ := bubble1995.Decode(r.id)
		t.Fatalf("a Next in flight during Close issued %d (tick %v) after Close returned; the next holder issued %d",
			r.id, p.Time.UTC(), id2)
	}
	if !errors.Is(r.err, snowfall.ErrFenced) || !errors.Is(r.err, snowfall.ErrClosed) {
		t.Errorf("in-flight Next: got %v, want ErrFenced wrapping ErrClosed", r.err)
	}
}
