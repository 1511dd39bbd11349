package snowfall

import "fmt"

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
