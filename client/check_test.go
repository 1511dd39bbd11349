package client

import (
	"errors"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestCheckerCrossedAnswers: answers that crossed in flight may interleave (a generator fills
// concurrent batches tick by tick) and are accepted; one that shares an ID with an answer accepted
// while it was in flight is refused, whatever the order; one below an answer accepted before its
// request was sent is refused.
func TestCheckerCrossedAnswers(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, true, DefaultMaxSkew, func() time.Time { return now })
	id := func(seq int64) snowfall.ID { return idAt(t, now, seq, 7) }
	a, b, c := k.sent(), k.sent(), k.sent()
	if err := k.accept("s", []snowfall.ID{id(1), id(3), id(5)}, a); err != nil {
		t.Fatalf("first answer: %v", err)
	}
	k.done(a)
	if err := k.accept("s", []snowfall.ID{id(2), id(4), id(6)}, b); err != nil {
		t.Fatalf("an interleaved answer that crossed the first: %v", err)
	}
	k.done(b)
	if err := k.accept("s", []snowfall.ID{id(0), id(4)}, c); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("an answer repeating ID 4 of a crossed answer = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(0)}, c); err != nil {
		t.Fatalf("an ID below crossed answers, not in them: %v", err)
	}
	k.done(c)
	d := k.sent() // sent after all of them: their IDs are its floor
	if err := k.accept("s", []snowfall.ID{id(6)}, d); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("a repeat after the answers: %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{id(7)}, d); err != nil {
		t.Fatal(err)
	}
	k.done(d)
}

// TestCheckerEarlyIDs: IDs accepted before the layout is known are refused if repeated, and raise
// their generators' floors once it is; one dated too far ahead to be a floor is still refused if
// repeated after its time came.
func TestCheckerEarlyIDs(t *testing.T) {
	now := time.Now()
	k := newChecker(snowfall.Layout{}, false, time.Second, func() time.Time { return now })
	early, ahead := idAt(t, now, 5, 3), idAt(t, now.Add(time.Minute), 0, 4)
	s := k.sent()
	if err := k.accept("s", []snowfall.ID{early, ahead}, s); err != nil {
		t.Fatal(err)
	}
	if err := k.accept("s", []snowfall.ID{early}, s); !errors.Is(err, ErrIDOrder) {
		t.Fatalf("a repeat before the layout is known = %v, want ErrIDOrder", err)
	}
	k.done(s)
	k.mu.Lock()
	k.setLayout(snowfall.Layout{})
	k.foldEarly()
	k.mu.Unlock()
	s = k.sent()
	if err := k.accept("s", []snowfall.ID{idAt(t, now, 4, 3)}, s); !errors.Is(err, ErrIDOrder) {
		t.Errorf("an ID below an early one of its generator = %v, want ErrIDOrder", err)
	}
	if err := k.accept("s", []snowfall.ID{idAt(t, now, 0, 4)}, s); err != nil {
		t.Errorf("the generator of the ID too far ahead got no floor from it: %v", err)
	}
	now = now.Add(time.Minute)
	if err := k.accept("s", []snowfall.ID{ahead}, s); !errors.Is(err, ErrIDOrder) {
		t.Errorf("a repeat of the early ID once its time came = %v, want ErrIDOrder", err)
	}
	k.done(s)
}
