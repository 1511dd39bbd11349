package snowfall

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/fakeclock"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// smallLayout has 2 IDs per tick, so tests reach the end of a tick's sequence at once.
func smallLayout(t *testing.T) Layout {
	t.Helper()
	l, err := ParseLayout("time=50,seq=1,gen=12")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func newGen(t *testing.T, s Settings) *Generator {
	t.Helper()
	g, err := New(s)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestUniqueAndIncreasingAcrossGoroutines(t *testing.T) {
	const workers, per = 8, 256 * 1024 // 2,097,152 IDs
	g := newGen(t, Settings{Node: Node{Generator: 7}})
	all := make([][]ID, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ids := make([]ID, 0, per)
			for range per {
				id, err := g.Next()
				if err != nil {
					t.Error(err)
					return
				}
				ids = append(ids, id)
			}
			all[w] = ids
		})
	}
	wg.Wait()
	var merged []ID
	for w, ids := range all {
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("goroutine %d: ID %d after %d", w, ids[i], ids[i-1])
			}
		}
		merged = append(merged, ids...)
	}
	slices.Sort(merged)
	perTick := map[int64]int{}
	l := g.Layout()
	for i, id := range merged {
		if i > 0 && id == merged[i-1] {
			t.Fatalf("duplicate ID %d", id)
		}
		p, _ := l.Decode(id)
		if p.Generator != 7 {
			t.Fatalf("ID %d has generator %d, want 7", id, p.Generator)
		}
		perTick[l.Ticks(p.Time)]++
	}
	for tick, n := range perTick {
		if n > int(l.PerTick()) {
			t.Fatalf("tick %d has %d IDs, more than the %d the sequence allows", tick, n, l.PerTick())
		}
	}
	if got := g.Stats().Issued; got != workers*per {
		t.Errorf("Stats().Issued = %d, want %d", got, workers*per)
	}
	if len(merged) != workers*per {
		t.Fatalf("got %d IDs, want %d", len(merged), workers*per)
	}
}

func TestIDsCarryTheClockTime(t *testing.T) {
	clk := fakeclock.New(t0)
	g := newGen(t, Settings{Clock: clk, Node: Node{Generator: 3}})
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := g.Layout().Decode(id)
	if !p.Time.Equal(t0) || p.Sequence != 0 || p.Generator != 3 {
		t.Errorf("decoded %+v, want time %v seq 0 gen 3", p, t0)
	}
	id2, _ := g.Next()
	if p2, _ := g.Layout().Decode(id2); !p2.Time.Equal(t0) || p2.Sequence != 1 {
		t.Errorf("second ID decoded %+v, want the same tick with sequence 1", p2)
	}
}

func TestSequenceOverloadWaitsForNextTick(t *testing.T) {
	clk := fakeclock.New(t0)
	g := newGen(t, Settings{Clock: clk, Layout: smallLayout(t)})
	var ticks []int64
	for range 6 {
		id, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := g.Layout().Decode(id)
		ticks = append(ticks, g.Layout().Ticks(p.Time))
	}
	base := g.Layout().Ticks(t0)
	want := []int64{base, base, base + 1, base + 1, base + 2, base + 2}
	if !slices.Equal(ticks, want) {
		t.Errorf("ticks = %v, want %v", ticks, want)
	}
	st := g.Stats()
	if st.SequenceOverloads != 2 || st.ClockBackwards != 0 || st.Issued != 6 {
		t.Errorf("stats = %+v, want 2 overloads, 0 backwards, 6 issued", st)
	}
	if !clk.Now().Equal(t0.Add(2 * time.Millisecond)) {
		t.Errorf("the generator waited until %v, want exactly the start of tick +2 (%v)", clk.Now(), t0.Add(2*time.Millisecond))
	}
}

func TestTryNextDoesNotWait(t *testing.T) {
	clk := fakeclock.New(t0.Add(300 * time.Microsecond))
	g := newGen(t, Settings{Clock: clk, Layout: smallLayout(t)})
	for range 2 {
		if _, err := g.TryNext(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := g.TryNext()
	var ww *WouldWaitError
	if !errors.As(err, &ww) || !errors.Is(err, ErrWouldWait) || ww.Backwards || ww.Wait != 700*time.Microsecond {
		t.Fatalf("TryNext = %v, want a WouldWaitError of 700µs", err)
	}
	if !clk.Now().Equal(t0.Add(300 * time.Microsecond)) {
		t.Error("TryNext slept")
	}
}

func TestClockBackwards(t *testing.T) {
	tests := []struct {
		name    string
		back    time.Duration
		max     time.Duration
		wantErr bool
	}{
		{"within the bound", 500 * time.Millisecond, 0, false},
		{"at the bound", time.Second, 0, false},
		{"past the bound", 1500 * time.Millisecond, 0, true},
		{"past a custom bound", 200 * time.Millisecond, 100 * time.Millisecond, true},
		{"never wait", time.Millisecond, -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := fakeclock.New(t0)
			g := newGen(t, Settings{Clock: clk, Layout: smallLayout(t), MaxBackwards: tt.max})
			a, _ := g.Next()
			b, _ := g.Next() // the tick's sequence is used up
			clk.Set(t0.Add(-tt.back))
			c, err := g.Next()
			if tt.wantErr {
				var cb *ClockBackwardsError
				if !errors.As(err, &cb) || !errors.Is(err, ErrClockBackwards) || cb.Behind != tt.back {
					t.Fatalf("Next = %d, %v, want ClockBackwardsError{Behind: %v}", c, err, tt.back)
				}
				if _, err := g.TryNext(); !errors.Is(err, ErrClockBackwards) {
					t.Errorf("TryNext = %v, want ErrClockBackwards", err)
				}
			} else {
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if !(a < b && b < c) {
					t.Fatalf("IDs %d, %d, %d not increasing", a, b, c)
				}
				p, _ := g.Layout().Decode(c)
				if !p.Time.Equal(t0.Add(time.Millisecond)) {
					t.Errorf("after waiting, ID time = %v, want %v", p.Time, t0.Add(time.Millisecond))
				}
			}
			if got := g.Stats().ClockBackwards; got != 1 {
				t.Errorf("ClockBackwards = %d, want 1", got)
			}
		})
	}
}

func TestClockBackwardsWithSequenceLeftStaysInLastTick(t *testing.T) {
	clk := fakeclock.New(t0)
	g := newGen(t, Settings{Clock: clk})
	a, _ := g.Next()
	clk.Set(t0.Add(-10 * time.Second))
	b, err := g.Next()
	if err != nil || b <= a {
		t.Fatalf("Next = %d, %v after %d", b, err, a)
	}
	if p, _ := g.Layout().Decode(b); !p.Time.Equal(t0) || p.Sequence != 1 {
		t.Errorf("got %+v, want the last tick with sequence 1", p)
	}
}

func TestHighWaterMark(t *testing.T) {
	clk := fakeclock.New(t0)
	mark := t0.Add(300 * time.Millisecond) // a previous run got this far with a clock that was ahead
	g := newGen(t, Settings{Clock: clk, After: mark})
	if _, err := g.TryNext(); !errors.Is(err, ErrWouldWait) || !errors.Is(err, ErrClockBackwards) {
		t.Fatalf("TryNext below the mark = %v, want a backwards WouldWaitError", err)
	}
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := g.Layout().Decode(id)
	if !p.Time.After(mark) {
		t.Fatalf("ID time %v not after the mark %v", p.Time, mark)
	}
	if got, want := p.Time, mark.Add(time.Millisecond); !got.Equal(want) {
		t.Errorf("first ID time %v, want the tick right after the mark, %v", got, want)
	}
	if st := g.Stats(); st.Issued != 1 {
		t.Errorf("Issued = %d, want 1", st.Issued)
	}

	far := newGen(t, Settings{Clock: fakeclock.New(t0), After: t0.Add(5 * time.Second)})
	if _, err := far.Next(); !errors.Is(err, ErrClockBackwards) {
		t.Errorf("mark 5s ahead: Next = %v, want ErrClockBackwards", err)
	}
}

func TestNextContextCancelled(t *testing.T) {
	g := newGen(t, Settings{Layout: smallLayout(t), After: time.Now().Add(800 * time.Millisecond)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := g.NextContext(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("NextContext = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("NextContext returned after %v, long past its deadline", d)
	}
}

func TestRealWaitIsPrompt(t *testing.T) {
	g := newGen(t, Settings{Layout: smallLayout(t), After: time.Now().Add(30 * time.Millisecond)})
	id, err := g.Next()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := g.Layout().Decode(id)
	if late := time.Since(p.Time); late > 50*time.Millisecond {
		t.Errorf("issued %v after its tick began", late)
	}
}

func TestTimeOverflow(t *testing.T) {
	l, err := ParseLayout("time=20,seq=12,gen=31") // 2^20 ms, about 17.5 minutes
	if err != nil {
		t.Fatal(err)
	}
	l, err = l.WithEpoch(t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	g := newGen(t, Settings{Layout: l, Clock: fakeclock.New(t0)})
	if _, err := g.Next(); !errors.Is(err, ErrTimeOverflow) {
		t.Fatalf("Next = %v, want ErrTimeOverflow", err)
	}
	if _, err := New(Settings{Layout: l, Clock: fakeclock.New(t0), After: t0}); !errors.Is(err, ErrTimeOverflow) {
		t.Errorf("New with a mark past the end = %v, want ErrTimeOverflow", err)
	}
}

func TestEpochAfterClock(t *testing.T) {
	if _, err := New(Settings{Clock: fakeclock.New(time.UnixMilli(EpochSnowfall - 1))}); !errors.Is(err, ErrInvalidLayout) {
		t.Errorf("New = %v, want ErrInvalidLayout", err)
	}
}

func TestFill(t *testing.T) {
	clk := fakeclock.New(t0)
	g := newGen(t, Settings{Clock: clk, Node: Node{Generator: 1}})
	ids := make([]ID, 10000)
	n, err := g.Fill(context.Background(), ids)
	if err != nil || n != len(ids) {
		t.Fatalf("Fill = %d, %v", n, err)
	}
	perTick := map[int64]int64{}
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			t.Fatalf("ids[%d] = %d after %d", i, id, ids[i-1])
		}
		p, _ := g.Layout().Decode(id)
		perTick[g.Layout().Ticks(p.Time)]++
	}
	if len(perTick) != 3 || perTick[g.Layout().Ticks(t0)] != 4096 {
		t.Errorf("IDs per tick = %v, want 4096, 4096, 1808", perTick)
	}
	next, _ := g.Next()
	if next <= ids[len(ids)-1] {
		t.Errorf("Next after Fill = %d, not above %d", next, ids[len(ids)-1])
	}
	if st := g.Stats(); st.Issued != 10001 {
		t.Errorf("Issued = %d, want 10001", st.Issued)
	}
}
