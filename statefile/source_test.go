package statefile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

const testAhead = 200 * time.Millisecond

func open(t *testing.T, path string, clock snowfall.Clock) *Source {
	t.Helper()
	s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Clock: clock,
		MaxBackwards: -1, Ahead: testAhead})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// issue takes IDs from s for d and returns the largest, checking that the state file's mark
// always covers the IDs issued before it was read.
func issue(t *testing.T, s *Source, d time.Duration) snowfall.ID {
	t.Helper()
	var last snowfall.ID
	l := s.Layout()
	waitReady(t, s)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 100 {
			id, err := s.NextContext(context.Background())
			if errors.Is(err, ErrNotRecorded) {
				// The loop's write came late (a slow fsync on a loaded machine, with the
				// short testAhead): the generator fences, as it must, until the mark moves.
				if !time.Now().Before(end) {
					return last
				}
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				t.Fatalf("NextContext: %v", err)
			}
			if id <= last {
				t.Fatalf("ID %d after %d", id, last)
			}
			last = id
		}
		st, err := Read(s.Path())
		if err != nil {
			t.Fatal(err)
		}
		p, _ := l.Decode(last)
		if l.Ticks(st.Mark) < l.Ticks(p.Time) {
			t.Fatalf("ID %d at %s issued above the recorded mark %s", last, p.Time, st.Mark)
		}
		time.Sleep(time.Millisecond)
	}
	return last
}

// waitReady waits until s issues: a start waits StartWait for its clock to pass its floor.
func waitReady(t *testing.T, s *Source) {
	t.Helper()
	deadline := time.Now().Add(StartWait(testAhead) + 5*time.Second)
	for s.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("not ready %v after Open: %v", StartWait(testAhead)+5*time.Second, s.Ready())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRestartClockBehind restarts with a clock 5 s behind: the state file's floor keeps every new ID
// above the ones issued before, and the source issues again once its clock passes the mark.
func TestRestartClockBehind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	first := open(t, path, snowfall.OffsetClock(0))
	before := issue(t, first, 3*testAhead)
	first.Close() // a crash leaves the same file: Close never lowers the mark

	t.Run("OffsetClock", func(t *testing.T) {
		s := open(t, path, snowfall.OffsetClock(-5*time.Second))
		for range 1000 {
			id, err := s.NextContext(context.Background())
			if err == nil {
				t.Fatalf("ID %d issued with a clock 5s behind the mark (last before restart %d)", id, before)
			}
			if !errors.Is(err, snowfall.ErrClockBackwards) && !errors.Is(err, snowfall.ErrFenced) {
				t.Fatalf("NextContext: %v, want a clock-backwards or fence error", err)
			}
		}
		s.Close()
	})

	t.Run("clock steps back then catches up", func(t *testing.T) {
		c := fakeclock.Following(-5 * time.Second)
		s := open(t, path, c)
		if _, err := s.NextContext(context.Background()); err == nil {
			t.Fatal("issued an ID with a clock behind the mark")
		}
		c.SetOffset(0)
		deadline := time.Now().Add(5 * testAhead)
		for {
			id, err := s.NextContext(context.Background())
			if err == nil {
				if id <= before {
					t.Fatalf("after restart: ID %d, not above %d issued before", id, before)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("still refusing once the clock is past the mark: %v", err)
			}
			time.Sleep(testAhead / 10)
		}
		if last := issue(t, s, 2*testAhead); last <= before {
			t.Fatalf("ID %d, not above %d", last, before)
		}
	})
}

// TestClockJumpAhead: a clock that jumps past the recorded mark is fenced until the mark moves.
func TestClockJumpAhead(t *testing.T) {
	c := fakeclock.Following(0)
	s := open(t, filepath.Join(t.TempDir(), "state"), c)
	issue(t, s, testAhead)
	c.SetOffset(time.Hour)
	if id, err := s.NextContext(context.Background()); !errors.Is(err, snowfall.ErrFenced) || !errors.Is(err, ErrNotRecorded) {
		t.Fatalf("NextContext after a jump past the mark = %d, %v; want a FenceError with ErrNotRecorded", id, err)
	}
	time.Sleep(testAhead / 2)
	if _, err := s.NextContext(context.Background()); err != nil {
		t.Fatalf("mark not moved after the jump: %v", err)
	}
}

func TestOpenRefusesDamagedFile(t *testing.T) {
	good := func(t *testing.T, path string) []byte {
		s := open(t, path, nil)
		s.Close()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name   string
		damage func([]byte) []byte
		want   error
	}{
		{"truncated", func(b []byte) []byte { return b[:20] }, ErrCorrupt},
		{"no valid slot", func(b []byte) []byte {
			for at := 0; at < len(b); at += slotSize {
				b[at+30] ^= 4
			}
			return b
		}, ErrCorrupt},
		{"other node", func(b []byte) []byte {
			st, _ := Parse(b)
			st.Node.Generator = 6
			return encodeSlot(1, st)
		}, snowfall.ErrMismatch},
		{"other layout", func(b []byte) []byte {
			st, _ := Parse(b)
			st.Layout, _ = snowfall.ParseLayout("time=41,seq=11,gen=11")
			return encodeSlot(1, st)
		}, snowfall.ErrMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state")
			bad := tc.damage(good(t, path))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded on a damaged state file")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open: %v, want %v", err, tc.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, bad) {
				t.Error("Open changed the damaged file; it must leave it for an operator")
			}
		})
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "state"), nil)
	s.Close()
	s.Close()
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if _, err := s.NextContext(context.Background()); !errors.Is(err, snowfall.ErrClosed) {
		t.Fatalf("NextContext after Close: %v, want ErrClosed", err)
	}
}

func TestOpenInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	s := open(t, path, nil)
	if other, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}}); !errors.Is(err, ErrInUse) {
		if other != nil {
			other.Close()
		}
		t.Fatalf("second Open of a kept file: %v, want ErrInUse", err)
	}
	s.Close()
	again, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}
