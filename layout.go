package snowfall

import (
	"fmt"
	"time"
)

// maxFields is the most fields a layout can hold: time, sequence, dc and worker.
const maxFields = 4

// The widths a layout's fields can fill: every bit of an int64 but the sign, or 53 bits, so that
// every ID is below 2^53 and a JavaScript number (an IEEE double) holds it exactly.
const (
	FullWidth = 63
	JSWidth   = 53
)

// Layout describes how the usable bits of an ID are split into fields, from high to low, and the
// epoch and unit of the time field: 63 bits (the sign bit is always zero), or 53 (the top 11 bits
// are zero). A Layout is an immutable value; the zero Layout stands for the default preset (see
// DefaultLayout) wherever a Layout is accepted. Layouts are comparable with ==.
type Layout struct {
	name    string
	fields  [maxFields]Field
	n       int
	width   int // FullWidth or JSWidth: the sum of the fields' bits
	epochMs int64
	unit    time.Duration
	spread  int64 // 0, or the power of two the sequence rolls over (see WithSpread)
}

// NewLayout builds a layout from fields listed from the highest bits to the lowest.
// The time field must come first so that IDs sort by creation time; there must be one time and one
// sequence field and either one generator field or a dc and a worker field; every field has at least
// one bit and the bits sum to 63, or to 53 for IDs that stay below 2^53 (JSWidth). The epoch must not be in the future nor before 1970, and is kept
// to the millisecond; unit is the time field's tick (0 means one millisecond) and must be a whole
// number of milliseconds up to an hour. A layout with the fields, epoch and unit of a preset is that
// preset (Name says which, and it equals the preset with ==). Errors wrap ErrInvalidLayout.
func NewLayout(fields []Field, epoch time.Time, unit time.Duration) (Layout, error) {
	return newLayout(fields, epoch, unit, true)
}

func newLayout(fields []Field, epoch time.Time, unit time.Duration, checkFuture bool) (Layout, error) {
	var l Layout
	if len(fields) < 3 || len(fields) > maxFields {
		return l, fmt.Errorf("%w: %d fields, want 3 (time, seq, gen) or 4 (time, dc, worker, seq in any order after time)", ErrInvalidLayout, len(fields))
	}
	seen := map[FieldKind]bool{}
	sum := 0
	for i, f := range fields {
		if _, ok := fieldNames[f.Kind]; !ok {
			return l, fmt.Errorf("%w: unknown field kind %d", ErrInvalidLayout, f.Kind)
		}
		if seen[f.Kind] {
			return l, fmt.Errorf("%w: field %s appears twice", ErrInvalidLayout, f.Kind)
		}
		seen[f.Kind] = true
		if f.Bits < 1 || f.Bits > 62 {
			return l, fmt.Errorf("%w: field %s has %d bits, allowed [1, 62]", ErrInvalidLayout, f.Kind, f.Bits)
		}
		if i == 0 && f.Kind != FieldTime {
			return l, fmt.Errorf("%w: first (highest) field is %s, must be time so that IDs sort by time", ErrInvalidLayout, f.Kind)
		}
		sum += f.Bits
		l.fields[i] = f
	}
	l.n = len(fields)
	if !seen[FieldSequence] {
		return l, fmt.Errorf("%w: no seq field", ErrInvalidLayout)
	}
	switch {
	case seen[FieldGenerator] && !seen[FieldDC] && !seen[FieldWorker] && len(fields) == 3:
	case !seen[FieldGenerator] && seen[FieldDC] && seen[FieldWorker]:
	default:
		return l, fmt.Errorf("%w: node fields must be gen alone, or dc and worker", ErrInvalidLayout)
	}
	if sum != FullWidth && sum != JSWidth {
		return l, fmt.Errorf("%w: fields sum to %d bits, must be 63 (or 53, for IDs below 2^53 that JavaScript numbers hold exactly)", ErrInvalidLayout, sum)
	}
	l.width = sum
	if l.bits(FieldSequence) > 30 {
		return l, fmt.Errorf("%w: seq has %d bits, allowed [1, 30]", ErrInvalidLayout, l.bits(FieldSequence))
	}
	if unit == 0 {
		unit = time.Millisecond
	}
	if unit < time.Millisecond || unit > time.Hour || unit%time.Millisecond != 0 {
		return l, fmt.Errorf("%w: unit %v, must be a whole number of milliseconds in [1ms, 1h]", ErrInvalidLayout, unit)
	}
	l.unit = unit
	if err := l.setEpoch(epoch, checkFuture); err != nil {
		return l, err
	}
	l.name = presetName(l)
	return l, nil
}

func (l *Layout) setEpoch(epoch time.Time, checkFuture bool) error {
	ms := epoch.UnixMilli()
	if ms < 0 {
		return fmt.Errorf("%w: epoch %s is before 1970-01-01", ErrInvalidLayout, epoch.UTC().Format(time.RFC3339Nano))
	}
	if now := time.Now(); checkFuture && epoch.After(now) {
		return fmt.Errorf("%w: epoch %s is in the future (now %s)", ErrInvalidLayout,
			epoch.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
	}
	l.epochMs = ms
	return nil
}

// WithEpoch returns a copy of l with another epoch. The epoch must not be in the future; it is kept
// to the millisecond. A preset with another epoch keeps its name; a custom layout that gets the epoch
// of a preset with its fields and unit becomes that preset.
func (l Layout) WithEpoch(epoch time.Time) (Layout, error) {
	l = l.orDefault()
	if err := l.setEpoch(epoch, true); err != nil {
		return Layout{}, err
	}
	if l.name == "custom" {
		l.name = presetName(l)
	}
	return l, nil
}

// orDefault turns the zero Layout into the default one.
func (l Layout) orDefault() Layout {
	if l.n == 0 {
		return defaultLayout
	}
	return l
}

// IsZero reports whether l is the zero Layout.
func (l Layout) IsZero() bool { return l.n == 0 }

// Name returns the name of the preset l is (see NewLayout and WithEpoch), or "custom".
func (l Layout) Name() string { return l.orDefault().name }

// Fields returns the fields from the highest bits to the lowest.
func (l Layout) Fields() []Field {
	l = l.orDefault()
	return append([]Field(nil), l.fields[:l.n]...)
}

// Epoch returns the instant the time field counts from, in UTC.
func (l Layout) Epoch() time.Time { return time.UnixMilli(l.orDefault().epochMs).UTC() }

// EpochMs returns the epoch in Unix milliseconds.
func (l Layout) EpochMs() int64 { return l.orDefault().epochMs }

// Unit returns the duration of one tick of the time field.
func (l Layout) Unit() time.Duration { return l.orDefault().unit }

// Has reports whether l has a field of the kind.
func (l Layout) Has(k FieldKind) bool { return l.Bits(k) > 0 }

// Bits returns the width of the field of the kind, or 0 when l has none.
func (l Layout) Bits(k FieldKind) int { return l.orDefault().bits(k) }

// bits is Bits for a layout that is not zero.
func (l Layout) bits(k FieldKind) int {
	for _, f := range l.fields[:l.n] {
		if f.Kind == k {
			return f.Bits
		}
	}
	return 0
}

// Width returns how many low bits of an ID the fields fill: 63, or 53 for a layout whose IDs stay
// below 2^53 (JSWidth).
func (l Layout) Width() int { return l.orDefault().width }

// MaxID returns the largest ID the layout can ever issue: every field at its largest value,
// 2^Width - 1. No generator of l issues an ID above it, and Decode refuses one.
func (l Layout) MaxID() ID { return ID(1)<<l.Width() - 1 }

// shift returns how far the field of the kind is shifted left, or -1.
func (l Layout) shift(k FieldKind) int {
	pos := l.width
	for _, f := range l.fields[:l.n] {
		pos -= f.Bits
		if f.Kind == k {
			return pos
		}
	}
	return -1
}

// Max returns the largest value the field of the kind can hold, or -1 when l has no such field.
func (l Layout) Max(k FieldKind) int64 {
	b := l.Bits(k)
	if b == 0 {
		return -1
	}
	return 1<<b - 1
}

// PerTick returns how many IDs one generator can issue within one tick of the time field.
func (l Layout) PerTick() int64 { return l.Max(FieldSequence) + 1 }

// Limit returns the most IDs per second one generator can issue.
func (l Layout) Limit() float64 {
	return float64(l.PerTick()) * float64(time.Second) / float64(l.Unit())
}

// Lifetime returns how long after the epoch the time field runs out.
func (l Layout) Lifetime() time.Duration {
	l = l.orDefault()
	ticks := l.Max(FieldTime) + 1
	if ticks > int64(1<<62)/int64(l.unit) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(ticks) * l.unit
}

// End returns the first instant the time field cannot represent.
func (l Layout) End() time.Time {
	l = l.orDefault()
	ms := l.Max(FieldTime) + 1
	unitMs := int64(l.unit / time.Millisecond)
	if ms > (1<<62)/unitMs {
		return time.UnixMilli(1 << 62).UTC()
	}
	return time.UnixMilli(l.epochMs + ms*unitMs).UTC()
}

// Ticks returns the value of the time field for instant t: whole units since the epoch, rounded
// down. It is negative for instants before the epoch.
func (l Layout) Ticks(t time.Time) int64 {
	l = l.orDefault()
	d := t.UnixMilli() - l.epochMs
	u := int64(l.unit / time.Millisecond)
	if d < 0 {
		return -((-d + u - 1) / u)
	}
	return d / u
}

// TickTime returns the instant at which tick starts.
func (l Layout) TickTime(tick int64) time.Time {
	l = l.orDefault()
	return time.UnixMilli(l.epochMs + tick*int64(l.unit/time.Millisecond)).UTC()
}
