package fleet

import (
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

var (
	testLayout = snowfall.DefaultLayout()
	runStart   = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	testWindow = Window{From: runStart.Add(-time.Second), To: runStart.Add(time.Minute)}
)

// id composes an ID of generator gen, ms milliseconds after runStart, with sequence seq.
func id(t *testing.T, gen int64, ms, seq int64) snowfall.ID {
	t.Helper()
	v, err := testLayout.Compose(testLayout.Ticks(runStart)+ms, seq, snowfall.Node{Generator: gen})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestCheck(t *testing.T) {
	cases := []struct {
		name                string
		log                 func(t *testing.T) *Log
		dups, order, window int
		takeovers           int
		unavailable0        time.Duration
		wantSample          string
	}{
		{
			name: "clean stream from two servers",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 0, 1, 0)}},
					{Server: 1, Process: 2, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 1, 1, 0), id(t, 1, 1, 1)}},
					{Server: 0, Process: 1, Start: ms(2), End: ms(3), IDs: []snowfall.ID{id(t, 0, 2, 0)}},
				}}
			},
		},
		{
			name: "duplicate across processes",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 3, 1, 0)}},
					{Server: 1, Process: 2, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 3, 1, 0)}},
				}}
			},
			dups: 1, takeovers: 1, wantSample: "from server 0 process 1",
		},
		{
			name: "takeover issuing below the old holder",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(10), IDs: []snowfall.ID{id(t, 3, 500, 0)}},
					{Server: 1, Process: 2, Start: ms(20), End: ms(30), IDs: []snowfall.ID{id(t, 3, 400, 0)}},
				}}
			},
			order: 1, takeovers: 1, wantSample: "not above",
		},
		{
			name: "overlapping requests may come back in either order",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(10), IDs: []snowfall.ID{id(t, 3, 5, 1)}},
					{Server: 0, Process: 1, Start: ms(1), End: ms(9), IDs: []snowfall.ID{id(t, 3, 5, 0)}},
				}}
			},
		},
		{
			name: "not increasing within one answer",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 0, 1, 1), id(t, 0, 1, 0)}},
				}}
			},
			order: 1, wantSample: "in one answer",
		},
		{
			name: "outside the window",
			log: func(t *testing.T) *Log {
				return &Log{Requests: []Request{
					{Server: 0, Process: 1, Start: ms(0), End: ms(1), IDs: []snowfall.ID{id(t, 0, -5000, 0), id(t, 0, 120000, 0)}},
				}}
			},
			window: 2, wantSample: "decodes to",
		},
		{
			name: "unavailable buckets",
			log: func(t *testing.T) *Log {
				return &Log{
					Requests: []Request{{Server: 0, Process: 1, Start: ms(0), End: ms(50), IDs: []snowfall.ID{id(t, 0, 1, 0)}}},
					Failures: []Failure{{0, ms(60)}, {0, ms(150)}, {0, ms(250)}, {0, ms(260)}, {1, ms(10)}},
				}
			},
			unavailable0: 200 * time.Millisecond,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Check(tc.log(t), testLayout, testWindow, 2)
			if r.Duplicates != tc.dups || r.OrderViolations != tc.order || r.OutOfWindow != tc.window {
				t.Errorf("duplicates, order, window = %d, %d, %d; want %d, %d, %d\n%s",
					r.Duplicates, r.OrderViolations, r.OutOfWindow, tc.dups, tc.order, tc.window, r.Problems())
			}
			if r.Takeovers != tc.takeovers {
				t.Errorf("takeovers = %d, want %d", r.Takeovers, tc.takeovers)
			}
			if r.Unavailable[0] != tc.unavailable0 {
				t.Errorf("unavailable[0] = %v, want %v", r.Unavailable[0], tc.unavailable0)
			}
			if got := r.OK(); got != (tc.dups+tc.order+tc.window == 0) {
				t.Errorf("OK() = %v", got)
			}
			if tc.wantSample != "" && !strings.Contains(r.Problems(), tc.wantSample) {
				t.Errorf("Problems() = %q, want it to mention %q", r.Problems(), tc.wantSample)
			}
		})
	}
}

func TestSummary(t *testing.T) {
	r := &Report{IDs: 10, Requests: 4, Unavailable: []time.Duration{0, 1500 * time.Millisecond}}
	got := r.Summary("postgres", map[string]int{"sigkill": 2, "dbcut": 1})
	want := "fleet postgres: ids=10 requests=4 failed=0 faults[dbcut=1 sigkill=2] duplicates=0 order_violations=0 out_of_window=0 generators=0 takeovers=0 unavailable_s[s0=0.0 s1=1.5]"
	if got != want {
		t.Errorf("Summary =\n%s\nwant\n%s", got, want)
	}
}
