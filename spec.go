package snowfall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

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
