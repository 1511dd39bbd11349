package snowfall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// FieldKind names what a field of an ID holds.
type FieldKind uint8

// The kinds of field a layout can hold.
const (
	FieldTime FieldKind = iota + 1
	FieldSequence
	FieldGenerator
	FieldDC
	FieldWorker
)

var fieldNames = map[FieldKind]string{
	FieldTime:      "time",
	FieldSequence:  "seq",
	FieldGenerator: "gen",
	FieldDC:        "dc",
	FieldWorker:    "worker",
}

// longNames name node fields in messages.
var longNames = map[FieldKind]string{FieldGenerator: "generator", FieldDC: "dc", FieldWorker: "worker"}

// fieldAliases maps every accepted spelling in a layout spec to its kind.
var fieldAliases = map[string]FieldKind{
	"time": FieldTime, "t": FieldTime,
	"seq": FieldSequence, "sequence": FieldSequence,
	"gen": FieldGenerator, "generator": FieldGenerator,
	"dc": FieldDC, "datacenter": FieldDC,
	"worker": FieldWorker,
}

// String returns the field's name as used in layout specs: time, seq, gen, dc or worker.
func (k FieldKind) String() string {
	if s, ok := fieldNames[k]; ok {
		return s
	}
	return "field(" + strconv.Itoa(int(k)) + ")"
}

// Field is one bit field of a layout.
type Field struct {
	Kind FieldKind
	Bits int
}

// maxFields is the most fields a layout can hold: time, sequence, dc and worker.
const maxFields = 4

// Layout describes how the 63 usable bits of an ID are split into fields, from high to low, and the
// epoch and unit of the time field. The sign bit is always zero. A Layout is an immutable value; the
// zero Layout stands for the default preset (see DefaultLayout) wherever a Layout is accepted.
// Layouts are comparable with ==.
type Layout struct {
	name    string
	fields  [maxFields]Field
	n       int
	epochMs int64
	unit    time.Duration
}

// Presets. Their bit diagrams and limits are documented in the package comment.
const (
	PresetSnowfall          = "snowfall"
	PresetPysnowflake       = "pysnowflake"
	PresetPysnowflakeLegacy = "pysnowflake-legacy"
	PresetTwitter           = "twitter"
)

// Epochs of the presets, in Unix milliseconds.
const (
	EpochSnowfall    int64 = 1577836800000 // 2020-01-01T00:00:00Z
	EpochPysnowflake int64 = 550281600000  // 1987-06-10T00:00:00Z
	EpochTwitter     int64 = 1288834974657 // 2010-11-04T01:42:54.657Z
)

// PresetNames lists the preset layouts in the order they are documented.
func PresetNames() []string {
	return []string{PresetSnowfall, PresetPysnowflake, PresetPysnowflakeLegacy, PresetTwitter}
}

func presetFields(name string) ([]Field, int64, bool) {
	switch name {
	case PresetSnowfall:
		return []Field{{FieldTime, 40}, {FieldSequence, 12}, {FieldGenerator, 11}}, EpochSnowfall, true
	case PresetPysnowflake:
		return []Field{{FieldTime, 41}, {FieldDC, 4}, {FieldWorker, 8}, {FieldSequence, 10}}, EpochPysnowflake, true
	case PresetPysnowflakeLegacy:
		return []Field{{FieldTime, 41}, {FieldDC, 2}, {FieldWorker, 8}, {FieldSequence, 12}}, EpochPysnowflake, true
	case PresetTwitter:
		return []Field{{FieldTime, 41}, {FieldDC, 5}, {FieldWorker, 5}, {FieldSequence, 12}}, EpochTwitter, true
	}
	return nil, 0, false
}

// DefaultLayout returns the snowfall preset: 0 | 40 time (ms since 2020-01-01) | 12 sequence | 11 generator.
func DefaultLayout() Layout {
	l, err := Preset(PresetSnowfall)
	if err != nil {
		panic(err) // the preset table is fixed; this cannot fail
	}
	return l
}

// Preset returns the named preset layout, or an error wrapping ErrInvalidLayout naming the presets.
func Preset(name string) (Layout, error) {
	fields, epoch, ok := presetFields(name)
	if !ok {
		return Layout{}, fmt.Errorf("%w: unknown preset %q (presets: %s)", ErrInvalidLayout, name, strings.Join(PresetNames(), ", "))
	}
	// The presets' epochs are constants long past; checking them against time.Now would only fail
	// where time is fake (a testing/synctest bubble starts in 2000). A generator still checks the
	// epoch against its own clock.
	l, err := newLayout(fields, time.UnixMilli(epoch), time.Millisecond, false)
	l.name = name
	return l, err
}

// NewLayout builds a custom layout from fields listed from the highest bits to the lowest.
// The time field must come first so that IDs sort by creation time; there must be one time and one
// sequence field and either one generator field or a dc and a worker field; every field has at least
// one bit and the bits sum to 63. The epoch must not be in the future nor before 1970, and is kept
// to the millisecond; unit is the time field's tick (0 means one millisecond) and must be a whole
// number of milliseconds up to an hour. Errors wrap ErrInvalidLayout.
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
	if sum != 63 {
		return l, fmt.Errorf("%w: fields sum to %d bits, must be 63", ErrInvalidLayout, sum)
	}
	if l.Bits(FieldSequence) > 30 {
		return l, fmt.Errorf("%w: seq has %d bits, allowed [1, 30]", ErrInvalidLayout, l.Bits(FieldSequence))
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
	l.name = "custom"
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

// ParseLayout parses a preset name ("snowfall", "pysnowflake", "pysnowflake-legacy", "twitter") or a
// custom spec: comma-separated name=bits fields from high to low, such as
// "time=41,dc=5,worker=5,seq=12", optionally followed by "unit=10ms". A custom spec gets the epoch
// of the snowfall preset; change it with WithEpoch. Errors wrap ErrInvalidLayout.
func ParseLayout(s string) (Layout, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultLayout(), nil
	}
	if !strings.Contains(s, "=") {
		return Preset(s)
	}
	var fields []Field
	unit := time.Millisecond
	for _, part := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return Layout{}, fmt.Errorf("%w: %q is not name=bits", ErrInvalidLayout, part)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		if name == "unit" {
			d, err := time.ParseDuration(val)
			if err != nil {
				return Layout{}, fmt.Errorf("%w: unit %q: %w", ErrInvalidLayout, val, err)
			}
			if d <= 0 { // NewLayout reads 0 as "the default"; a spec that says 0 is a mistake
				return Layout{}, fmt.Errorf("%w: unit %v, must be a whole number of milliseconds in [1ms, 1h]", ErrInvalidLayout, d)
			}
			unit = d
			continue
		}
		kind, ok := fieldAliases[name]
		if !ok {
			return Layout{}, fmt.Errorf("%w: unknown field %q (fields: time, seq, gen, dc, worker, unit)", ErrInvalidLayout, name)
		}
		bits, err := strconv.Atoi(val)
		if err != nil {
			return Layout{}, fmt.Errorf("%w: field %s: bits %q is not a number", ErrInvalidLayout, name, val)
		}
		fields = append(fields, Field{kind, bits})
	}
	return NewLayout(fields, time.UnixMilli(EpochSnowfall), unit)
}

// WithEpoch returns a copy of l with another epoch. The epoch must not be in the future; it is kept
// to the millisecond. A preset with another epoch keeps its name.
func (l Layout) WithEpoch(epoch time.Time) (Layout, error) {
	l = l.orDefault()
	if err := l.setEpoch(epoch, true); err != nil {
		return Layout{}, err
	}
	return l, nil
}

// orDefault turns the zero Layout into the default one.
func (l Layout) orDefault() Layout {
	if l.n == 0 {
		return DefaultLayout()
	}
	return l
}

// IsZero reports whether l is the zero Layout.
func (l Layout) IsZero() bool { return l.n == 0 }

// Name returns the preset's name, or "custom".
func (l Layout) Name() string { return l.orDefault().name }

// Spec returns the canonical spec of the fields, such as "time=40,seq=12,gen=11", with ",unit=…"
// when the unit is not one millisecond. ParseLayout(l.Spec()) gives back the same fields.
func (l Layout) Spec() string {
	l = l.orDefault()
	var b strings.Builder
	for i, f := range l.Fields() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", f.Kind, f.Bits)
	}
	if l.unit != time.Millisecond {
		fmt.Fprintf(&b, ",unit=%s", l.unit)
	}
	return b.String()
}

// String returns the name, spec and epoch, for messages.
func (l Layout) String() string {
	l = l.orDefault()
	return fmt.Sprintf("%s (%s, epoch %s)", l.name, l.Spec(), l.Epoch().Format(time.RFC3339Nano))
}

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
func (l Layout) Bits(k FieldKind) int {
	l = l.orDefault()
	for _, f := range l.fields[:l.n] {
		if f.Kind == k {
			return f.Bits
		}
	}
	return 0
}

// shift returns how far the field of the kind is shifted left, or -1.
func (l Layout) shift(k FieldKind) int {
	pos := 63
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

// Node holds the node values of a generator: Generator for layouts with a gen field, DC and Worker
// for layouts with dc and worker fields. Values for fields a layout does not have must be zero.
type Node struct {
	Generator int64
	DC        int64
	Worker    int64
}

// CheckNode reports whether n fits l: an error wrapping ErrOutOfRange names the value and the range
// of a field it does not fit, and values for fields l lacks are errors too. Nothing is ever masked.
func (l Layout) CheckNode(n Node) error {
	l = l.orDefault()
	for _, c := range []struct {
		kind FieldKind
		v    int64
	}{{FieldGenerator, n.Generator}, {FieldDC, n.DC}, {FieldWorker, n.Worker}} {
		if !l.Has(c.kind) {
			if c.v != 0 {
				return fmt.Errorf("%w: layout %s has no %s field, but %s is %d", ErrOutOfRange, l.name, c.kind, c.kind, c.v)
			}
			continue
		}
		if err := checkRange(longNames[c.kind], c.v, 0, l.Max(c.kind)); err != nil {
			return err
		}
	}
	return nil
}

func checkRange(name string, v, lo, hi int64) error {
	if v < lo || v > hi {
		return &RangeError{Field: name, Value: v, Min: lo, Max: hi}
	}
	return nil
}

// nodeBits returns the node values placed in their fields.
func (l Layout) nodeBits(n Node) int64 {
	var v int64
	if s := l.shift(FieldGenerator); s >= 0 {
		v |= n.Generator << s
	}
	if s := l.shift(FieldDC); s >= 0 {
		v |= n.DC << s
	}
	if s := l.shift(FieldWorker); s >= 0 {
		v |= n.Worker << s
	}
	return v
}

// Compose builds the ID with the given fields. Every value must fit its field (an error wrapping
// ErrOutOfRange says which does not).
func (l Layout) Compose(tick, seq int64, n Node) (ID, error) {
	l = l.orDefault()
	if err := checkRange("time", tick, 0, l.Max(FieldTime)); err != nil {
		return 0, err
	}
	if err := checkRange("seq", seq, 0, l.Max(FieldSequence)); err != nil {
		return 0, err
	}
	if err := l.CheckNode(n); err != nil {
		return 0, err
	}
	return ID(tick<<l.shift(FieldTime) | seq<<l.shift(FieldSequence) | l.nodeBits(n)), nil
}

// Parts are the decoded fields of an ID.
type Parts struct {
	ID       ID
	Tick     int64     // the time field: units since the epoch
	Time     time.Time // the instant the tick starts, UTC
	Sequence int64
	Node
}

// UnixMilli returns the decoded time in Unix milliseconds.
func (p Parts) UnixMilli() int64 { return p.Time.UnixMilli() }

// Decode splits id into its fields. A negative id is an error wrapping ErrInvalidID.
func (l Layout) Decode(id ID) (Parts, error) {
	l = l.orDefault()
	if id < 0 {
		return Parts{}, fmt.Errorf("%w: %d is negative", ErrInvalidID, int64(id))
	}
	field := func(k FieldKind) int64 {
		s := l.shift(k)
		if s < 0 {
			return 0
		}
		return int64(id) >> s & l.Max(k)
	}
	p := Parts{ID: id, Tick: field(FieldTime), Sequence: field(FieldSequence)}
	p.Time = l.TickTime(p.Tick)
	p.Generator, p.DC, p.Worker = field(FieldGenerator), field(FieldDC), field(FieldWorker)
	return p, nil
}
