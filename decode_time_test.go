package snowfall

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"
)

// FuzzDecodeTime: whatever the layout's time width, unit and epoch, Decode either refuses an ID
// (ErrInvalidID) or gives the time epoch + tick × unit exactly, within the years RFC 3339 can write,
// and a JSON form whose unix_ms and time agree (unit=1h layouts decoded to dates before the epoch,
// the product having overflowed).
func FuzzDecodeTime(f *testing.F) {
	for _, c := range []struct {
		timeBits uint8
		unitMs   uint32
		epochMs  int64
		id       int64
	}{
		{50, 3_600_000, EpochSnowfall, 1<<63 - 1},
		{40, 3_600_000, EpochSnowfall, 1 << 62},
		{61, 3_600_000, 0, 4611686018427387904},
		{41, 1, EpochTwitter, 1825382944768786432},
		{41, 10, EpochSnowfall, 0},
	} {
		f.Add(c.timeBits, c.unitMs, c.epochMs, c.id)
	}
	f.Fuzz(func(t *testing.T, timeBits uint8, unitMs uint32, epochMs, id int64) {
		tb := 1 + (int(timeBits)+60)%61
		rest := 63 - tb
		seq := max(rest/2, 1)
		gen := rest - seq
		if gen < 1 {
			return
		}
		unit := time.Duration(1+(uint64(unitMs)+3_599_999)%3_600_000) * time.Millisecond
		epoch := time.UnixMilli(epochMs % 253402300799999).UTC()
		l, err := newLayout([]Field{{FieldTime, tb}, {FieldSequence, seq}, {FieldGenerator, gen}}, epoch, unit, false)
		if err != nil {
			return
		}
		d, err := l.Decode(ID(id))
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("Decode(%d) under %s: error %v does not wrap ErrInvalidID", id, l.Spec(), err)
			}
			return
		}
		tick := new(big.Int).Rsh(big.NewInt(id), uint(seq+gen))
		want := new(big.Int).Add(big.NewInt(l.EpochMs()), new(big.Int).Mul(tick, big.NewInt(unit.Milliseconds())))
		if !want.IsInt64() || d.UnixMilli() != want.Int64() {
			t.Fatalf("Decode(%d) under %s (epoch %d): unix_ms %d, want %s", id, l.Spec(), l.EpochMs(), d.UnixMilli(), want)
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Decode(%d) under %s: JSON: %v", id, l.Spec(), err)
		}
		var back Decoded
		if err := json.Unmarshal(b, &back); err != nil || !back.Time.Equal(d.Time) {
			t.Fatalf("Decode(%d) under %s: JSON %s does not give back the time: %v", id, l.Spec(), b, err)
		}
		if y := d.Time.Year(); y < 0 || y > 9999 {
			t.Fatalf("Decode(%d) under %s: year %d", id, l.Spec(), y)
		}
	})
}
