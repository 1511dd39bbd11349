package snowfall

import (
	"fmt"
	"math/bits"
)

// WithSpread returns a copy of l whose generators start each tick's sequence where the previous
// tick's left off, modulo n, instead of at zero; n = 0 removes the spread. n must be a power of two
// in [2, PerTick], and the sequence must be l's lowest field (twitter, pysnowflake), for which the
// lowest log2(n) bits of an ID are those of the sequence. Errors wrap ErrInvalidLayout.
//
// Why: without it, a tick's first ID has sequence 0, and at request rates most ticks issue one ID,
// so id % N is the same for nearly every ID (one hot shard for anyone who partitions by id % N).
// With it the sequence rolls on across ticks, so the IDs of one generator take the values of
// id % n in turn, at any rate: id % N is exactly even for every N that divides n, and the IDs of a
// generator still increase strictly.
//
// The cost: a tick that starts at offset o holds PerTick - o IDs, o < n. A tick that follows a full
// tick starts at offset 0 (the roll wraps there), so at full load every tick holds PerTick IDs and
// nothing is lost; the loss is at most n - 1 IDs in the first full tick of a burst. Layouts whose
// lowest field is the node (snowfall, js) spread IDs across shards with Shard instead.
func (l Layout) WithSpread(n int64) (Layout, error) {
	l = l.orDefault()
	if err := l.checkSpread(n); err != nil {
		return Layout{}, err
	}
	l.spread = n
	return l, nil
}

// Spread returns the spread set by WithSpread, or 0.
func (l Layout) Spread() int64 { return l.orDefault().spread }

func (l Layout) checkSpread(n int64) error {
	switch {
	case n == 0:
		return nil
	case l.shift(FieldSequence) != 0:
		return fmt.Errorf("%w: spread %d needs the seq field lowest, but layout %s has %s lowest: use Layout.Shard (snowfall shard) to spread its IDs",
			ErrInvalidLayout, n, l.name, l.fields[l.n-1].Kind)
	case n < 2 || n > l.PerTick() || bits.OnesCount64(uint64(n)) != 1:
		return fmt.Errorf("%w: spread %d, must be a power of two in [2, %d] (the layout's IDs per tick)", ErrInvalidLayout, n, l.PerTick())
	}
	return nil
}
