package snowfall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseLayout parses a preset name ("snowfall", "pysnowflake", "pysnowflake-legacy", "twitter",
// "js") or a custom spec: comma-separated name=bits fields from high to low, such as
// "time=41,dc=5,worker=5,seq=12", optionally with "unit=10ms". Either may add "spread=N" (see
// WithSpread): "twitter,spread=64". A custom spec gets the epoch of the snowfall preset; change it
// with WithEpoch. Errors wrap ErrInvalidLayout.
func ParseLayout(s string) (Layout, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultLayout(), nil
	}
	parts := strings.Split(s, ",")
	var (
		base   *Layout // the preset the spec starts with, if any
		fields []Field
		spread int64
		unit   = time.Millisecond
		seen   = map[string]bool{}
	)
	for i, part := range parts {
		part = strings.TrimSpace(part)
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			if i > 0 {
				return Layout{}, fmt.Errorf("%w: %q is not name=bits (a preset name comes first)", ErrInvalidLayout, part)
			}
			p, err := Preset(part)
			if err != nil {
				return Layout{}, err
			}
			base = &p
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		switch name {
		case "unit", "spread":
			if seen[name] {
				return Layout{}, fmt.Errorf("%w: %s appears twice", ErrInvalidLayout, name)
			}
			seen[name] = true
		}
		switch name {
		case "unit":
			if base != nil {
				return Layout{}, fmt.Errorf("%w: preset %s has its own unit; write its fields to change it", ErrInvalidLayout, base.name)
			}
			d, err := time.ParseDuration(val)
			if err != nil {
				return Layout{}, fmt.Errorf("%w: unit %q: %w", ErrInvalidLayout, val, err)
			}
			if d <= 0 { // NewLayout reads 0 as "the default"; a spec that says 0 is a mistake
				return Layout{}, fmt.Errorf("%w: unit %v, must be a whole number of milliseconds in [1ms, 1h]", ErrInvalidLayout, d)
			}
			unit = d
			continue
		case "spread":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil || n == 0 { // 0 means "none" to WithSpread; a spec that says 0 is a mistake
				return Layout{}, fmt.Errorf("%w: spread %q, must be a power of two in [2, the layout's IDs per tick]", ErrInvalidLayout, val)
			}
			spread = n
			continue
		}
		if base != nil {
			return Layout{}, fmt.Errorf("%w: preset %s takes no fields (%q): write every field for a custom layout", ErrInvalidLayout, base.name, part)
		}
		kind, ok := fieldAliases[name]
		if !ok {
			return Layout{}, fmt.Errorf("%w: unknown field %q (fields: time, seq, gen, dc, worker; options: unit, spread)", ErrInvalidLayout, name)
		}
		bits, err := strconv.Atoi(val)
		if err != nil {
			return Layout{}, fmt.Errorf("%w: field %s: bits %q is not a number", ErrInvalidLayout, name, val)
		}
		fields = append(fields, Field{kind, bits})
	}
	var l Layout
	if base != nil {
		l = *base
	} else {
		var err error
		if l, err = NewLayout(fields, time.UnixMilli(EpochSnowfall), unit); err != nil {
			return Layout{}, err
		}
	}
	return l.WithSpread(spread)
}

// Spec returns the canonical spec of the fields, such as "time=40,seq=12,gen=11", with ",unit=…"
// when the unit is not one millisecond and ",spread=…" when l has a spread. ParseLayout(l.Spec())
// gives back the same fields, unit and spread.
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
	if l.spread != 0 {
		fmt.Fprintf(&b, ",spread=%d", l.spread)
	}
	return b.String()
}

// String returns the name, spec and epoch, for messages.
func (l Layout) String() string {
	l = l.orDefault()
	return fmt.Sprintf("%s (%s, epoch %s)", l.name, l.Spec(), l.Epoch().Format(time.RFC3339Nano))
}
