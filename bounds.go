package snowfall

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxTimeMs is 9999-12-31T23:59:59.999Z in Unix milliseconds, the last instant RFC 3339 can write:
// the largest time ParseTime reads as Unix milliseconds.
const MaxTimeMs = 253402300799999

// ParseTime reads a time as the commands take one: RFC 3339 (2026-01-02T15:04:05.123Z, any
// offset), or Unix milliseconds in [0, MaxTimeMs]. The result is in UTC. Errors name the text and
// the forms accepted; milliseconds out of range are a RangeError (ErrOutOfRange).
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		if err := checkRange("Unix milliseconds", ms, 0, MaxTimeMs); err != nil {
			return time.Time{}, err
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("snowfall: time %q is neither RFC 3339 (2026-01-02T15:04:05Z) nor Unix milliseconds in [0, %d]", clip(s), int64(MaxTimeMs))
	}
	return t.UTC(), nil
}

// FirstID returns the lowest ID l can issue in the tick holding t: the time field set, every
// field below it zero. With LastID it bounds the IDs of a time window for a range query:
//
//	WHERE id BETWEEN l.FirstID(from) AND l.LastID(to)
//
// selects every ID made from from's tick to to's tick, both included, whatever node made it. An
// error wrapping ErrOutOfRange names t and the range when t is before the epoch or at or past the
// end of the layout.
func (l Layout) FirstID(t time.Time) (ID, error) {
	l = l.orDefault()
	tick, err := l.tickOf(t)
	if err != nil {
		return 0, err
	}
	return ID(tick << l.shift(FieldTime)), nil
}

// LastID returns the highest ID l can issue in the tick holding t: the time field set, every field
// below it at its largest. See FirstID.
func (l Layout) LastID(t time.Time) (ID, error) {
	l = l.orDefault()
	tick, err := l.tickOf(t)
	if err != nil {
		return 0, err
	}
	s := l.shift(FieldTime)
	return ID(tick<<s | (1<<s - 1)), nil
}

// tickOf returns the tick holding t, or an error when the time field cannot hold it.
func (l Layout) tickOf(t time.Time) (int64, error) {
	if t.Before(l.Epoch()) || !t.Before(l.End()) {
		return 0, fmt.Errorf("%w: time %s outside layout %s's range [%s, %s)", ErrOutOfRange, t.UTC().Format(TimeFormat),
			l.name, l.Epoch().Format(TimeFormat), l.End().Format(TimeFormat))
	}
	return l.Ticks(t), nil
}
