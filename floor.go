package snowfall

import (
	"fmt"
	"strings"
	"time"
)

// ParseFloor reads a migration floor for layout l: the largest ID an earlier generator with the
// same layout issued (decimal, or "base32:…" / "base58:…"), or a time (RFC 3339) at or after which
// it issued nothing. It returns the high-water mark to pass as Settings.After or
// LeaseSettings.After, so that the new generators issue only IDs above the floor: for an ID, the
// start of its tick (a generator issues only ticks after the one holding After, so every new ID
// is above every ID of that tick); for a time, the time itself.
//
// Errors: ErrInvalidID for text that is neither, or an ID that l cannot issue (negative, above
// MaxID); an error wrapping ErrOutOfRange for a time outside [epoch, end) of l. A floor ahead of
// the clock is not refused here: see CheckFloor.
func ParseFloor(l Layout, s string) (time.Time, error) {
	l = l.orDefault()
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, ":-") && !strings.HasPrefix(s, "base32:") && !strings.HasPrefix(s, "base58:") && !strings.HasPrefix(s, "decimal:") {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%w: floor %q is neither an ID nor an RFC 3339 time (2026-01-02T15:04:05Z)", ErrInvalidID, clip(s))
		}
		if _, err := l.tickOf(t); err != nil {
			return time.Time{}, err
		}
		return t.UTC(), nil
	}
	id, err := ParseAny(s)
	if err != nil {
		return time.Time{}, err
	}
	d, err := l.Decode(id)
	if err != nil {
		return time.Time{}, err
	}
	return d.Time, nil
}

// CheckFloor returns nil when a generator of l whose clock reads now can wait out the floor after:
// Next waits while the floor's tick starts at most maxBackwards ahead of the clock (zero means
// DefaultMaxBackwards, negative means it never waits), which is what Ready checks. Otherwise it
// returns an error wrapping ErrClockBackwards that says how far ahead the floor is and the latest
// floor allowed.
func CheckFloor(l Layout, after, now time.Time, maxBackwards time.Duration) error {
	l = l.orDefault()
	if maxBackwards == 0 {
		maxBackwards = DefaultMaxBackwards
	}
	maxBackwards = max(maxBackwards, 0)
	if ahead := l.TickTime(max(l.Ticks(after), 0)).Sub(now); ahead > maxBackwards {
		return fmt.Errorf("%w: floor %s is %v ahead of the clock (%s); a generator waits out at most %v, so the floor must be at most %s",
			ErrClockBackwards, after.UTC().Format(TimeFormat), ahead.Round(time.Millisecond), now.UTC().Format(TimeFormat),
			maxBackwards, now.Add(maxBackwards).UTC().Format(TimeFormat))
	}
	return nil
}
