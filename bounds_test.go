package snowfall

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFirstLastID: for seeded random IDs of every preset and a custom layout with 10 ms ticks, the
// ID lies in [FirstID(t), LastID(t)] of its own time t, above LastID of the tick before and below
// FirstID of the tick after, so BETWEEN FirstID(from) AND LastID(to) selects exactly the IDs made
// from from's tick to to's.
func TestFirstLastID(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 3))
	layouts := []Layout{must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))}
	for _, name := range PresetNames() {
		layouts = append(layouts, must(Preset(name)))
	}
	for _, l := range layouts {
		for range 1000 {
			id := ID(rng.Int64()) & l.MaxID()
			d := must(l.Decode(id))
			if d.Time.Before(l.Epoch().Add(l.Unit())) || !d.Time.Before(l.End().Add(-l.Unit())) {
				continue
			}
			at := d.Time.Add(time.Duration(rng.Int64N(int64(l.Unit())))) // anywhere in the tick
			lo, hi := must(l.FirstID(at)), must(l.LastID(at))
			if id < lo || id > hi {
				t.Fatalf("%s: ID %d (time %v) outside [FirstID, LastID] = [%d, %d] of %v", l.Name(), id, d.Time, lo, hi, at)
			}
			if before := must(l.LastID(at.Add(-l.Unit()))); before >= id || before+1 != lo {
				t.Fatalf("%s: LastID of the tick before = %d, FirstID = %d, ID %d", l.Name(), before, lo, id)
			}
			if after := must(l.FirstID(at.Add(l.Unit()))); after <= id || hi+1 != after {
				t.Fatalf("%s: FirstID of the tick after = %d, LastID = %d, ID %d", l.Name(), after, hi, id)
			}
		}
		if lo := must(l.FirstID(l.Epoch())); lo != 0 {
			t.Errorf("%s: FirstID(epoch) = %d, want 0", l.Name(), lo)
		}
		if hi := must(l.LastID(l.End().Add(-time.Nanosecond))); hi != l.MaxID() {
			t.Errorf("%s: LastID(end-1ns) = %d, want MaxID %d", l.Name(), hi, l.MaxID())
		}
		for _, bad := range []time.Time{l.Epoch().Add(-time.Nanosecond), l.End()} {
			if _, err := l.FirstID(bad); !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), "range [") {
				t.Errorf("%s: FirstID(%v) = %v, want ErrOutOfRange naming the range", l.Name(), bad, err)
			}
			if _, err := l.LastID(bad); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("%s: LastID(%v) = %v, want ErrOutOfRange", l.Name(), bad, err)
			}
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"2026-01-02T15:04:05.123Z", time.Date(2026, 1, 2, 15, 4, 5, 123e6, time.UTC), ""},
		{"2026-01-02T16:04:05+01:00", time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), ""},
		{" 1577836800000 ", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{"0", time.Unix(0, 0).UTC(), ""},
		{"253402300799999", time.UnixMilli(MaxTimeMs).UTC(), ""},
		{"253402300800000", time.Time{}, "Unix milliseconds 253402300800000 out of range [0, 253402300799999]"},
		{"-1", time.Time{}, "out of range [0, 253402300799999]"},
		{"yesterday", time.Time{}, `time "yesterday" is neither RFC 3339`},
		{"", time.Time{}, "neither RFC 3339"},
	} {
		got, err := ParseTime(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTime(%q) = %v, %v; want an error mentioning %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v in UTC", c.in, got, err, c.want)
		}
	}
}

// FuzzParseTime: any text parses or fails with a message; a parsed time is in UTC, round-trips
// through its Unix milliseconds when in range, and the range of its tick under a layout holds the
// IDs of that tick only.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-01-02T15:04:05Z", "2026-01-02T15:04:05.123+02:00", "0", "253402300799999", "253402300800000", "-1", "yesterday", ""} {
		f.Add(s)
	}
	layouts := []Layout{DefaultLayout(), must(Preset(PresetJS)), must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			if strings.Contains(err.Error(), "%!") {
				t.Fatalf("malformed message: %v", err)
			}
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %v, not in UTC", s, tm)
		}
		if ms := tm.UnixMilli(); ms >= 0 && ms <= MaxTimeMs {
			back, err := ParseTime(strconv.FormatInt(ms, 10))
			if err != nil || back.UnixMilli() != ms {
				t.Fatalf("ParseTime(%d) = %v, %v", ms, back, err)
			}
		}
		for _, l := range layouts {
			lo, err1 := l.FirstID(tm)
			hi, err2 := l.LastID(tm)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s: FirstID and LastID of %v disagree: %v, %v", l.Name(), tm, err1, err2)
			}
			if err1 != nil {
				continue
			}
			dlo, _ := l.Decode(lo)
			dhi, _ := l.Decode(hi)
			if lo > hi || l.Ticks(dlo.Time) != l.Ticks(tm) || l.Ticks(dhi.Time) != l.Ticks(tm) || hi > l.MaxID() {
				t.Fatalf("%s: [FirstID, LastID] of %v = [%d, %d], ticks %d..%d, want tick %d", l.Name(), tm, lo, hi,
					l.Ticks(dlo.Time), l.Ticks(dhi.Time), l.Ticks(tm))
			}
		}
	})
}
