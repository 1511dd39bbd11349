package snowfall

import (
	"errors"
	"fmt"
	"time"
)

// Errors returned by this package and its assigners. Match them with errors.Is; the typed errors
// below carry details and still match their sentinel.
var (
	// ErrInvalidLayout: a layout spec or value that breaks the layout rules.
	ErrInvalidLayout = errors.New("snowfall: invalid layout")
	// ErrOutOfRange: a value outside its field's range (see RangeError).
	ErrOutOfRange = errors.New("snowfall: value out of range")
	// ErrInvalidID: text that is not an ID in the expected encoding.
	ErrInvalidID = errors.New("snowfall: invalid id")
	// ErrClockBackwards: the clock is behind the last issued tick by more than the allowed bound
	// (see ClockBackwardsError).
	ErrClockBackwards = errors.New("snowfall: clock moved backwards")
	// ErrTimeOverflow: the time field cannot hold the current time; the layout's lifetime is over.
	ErrTimeOverflow = errors.New("snowfall: time field overflow")
	// ErrWouldWait: TryNext would have had to wait (see WouldWaitError).
	ErrWouldWait = errors.New("snowfall: would wait")
	// ErrFenced: the generator may not issue now, because its lease is lost or in doubt or its
	// permitted time range is used up (see FenceError).
	ErrFenced = errors.New("snowfall: generator fenced")
	// ErrLeaseLost: the lease on a generator id ended or was taken over.
	ErrLeaseLost = errors.New("snowfall: lease lost")
	// ErrNoFreeGenerator: every generator id of a manifest is held by a live instance.
	ErrNoFreeGenerator = errors.New("snowfall: no free generator id")
	// ErrClaimConflict: a claim found its id's row changed since Assigner.Free read it (another
	// claim took it, it was released, or its mark moved) and took nothing; read again.
	ErrClaimConflict = errors.New("snowfall: claim conflict: the generator id changed since it was read")
	// ErrMismatch: an instance's epoch or layout differs from the one its manifest records.
	ErrMismatch = errors.New("snowfall: configuration mismatch")
	// ErrClosed: the generator or assigner was closed.
	ErrClosed = errors.New("snowfall: closed")
)

// RangeError reports a value outside its allowed range. It matches ErrOutOfRange.
type RangeError struct {
	Field    string
	Value    int64
	Min, Max int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("snowfall: %s %d out of range [%d, %d]", e.Field, e.Value, e.Min, e.Max)
}

// Is reports whether target is ErrOutOfRange.
func (e *RangeError) Is(target error) bool { return target == ErrOutOfRange }

// ClockBackwardsError reports how far the clock is behind the last tick the generator issued.
// It matches ErrClockBackwards.
type ClockBackwardsError struct {
	Behind time.Duration
	Max    time.Duration // the bound the generator waits within
}

func (e *ClockBackwardsError) Error() string {
	return fmt.Sprintf("snowfall: clock moved backwards: %v behind the last issued timestamp (waits up to %v)", e.Behind, e.Max)
}

// Is reports whether target is ErrClockBackwards.
func (e *ClockBackwardsError) Is(target error) bool { return target == ErrClockBackwards }

// WouldWaitError reports that TryNext would have had to wait, and for about how long.
// It matches ErrWouldWait, and ErrClockBackwards when the wait is for a clock that went back.
type WouldWaitError struct {
	Wait      time.Duration
	Backwards bool
}

func (e *WouldWaitError) Error() string {
	why := "sequence exhausted"
	if e.Backwards {
		why = "clock behind the last issued timestamp"
	}
	return fmt.Sprintf("snowfall: would wait %v: %s", e.Wait, why)
}

// Is reports whether target is ErrWouldWait (or ErrClockBackwards for a clock wait).
func (e *WouldWaitError) Is(target error) bool {
	return target == ErrWouldWait || (e.Backwards && target == ErrClockBackwards)
}

// FenceError reports why a generator refuses to issue. It matches ErrFenced and unwraps to its cause.
type FenceError struct {
	Cause error
}

func (e *FenceError) Error() string {
	if e.Cause == nil {
		return ErrFenced.Error()
	}
	return ErrFenced.Error() + ": " + e.Cause.Error()
}

// Is reports whether target is ErrFenced.
func (e *FenceError) Is(target error) bool { return target == ErrFenced }

// Unwrap returns the cause.
func (e *FenceError) Unwrap() error { return e.Cause }
