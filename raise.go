package snowfall

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MarkRaiser is implemented by the assigners whose marks an operator can raise (memassign,
// sqlassign, etcdassign): the repair after a store lost acknowledged writes (a failover to a
// replica that lagged, a restore of an older copy), which can have rolled marks back below IDs
// already issued. Raising every mark to a time past what any holder can have issued makes the next
// tenures start above it ("What the store must provide"). The command is snowfall leases
// raise-marks.
type MarkRaiser interface {
	// RaiseMarks sets the mark of every id in [0, r.Size) that is below r.To to r.To, and
	// leaves every other mark as it is: a raise never lowers a mark, whatever runs meanwhile
	// (each id's write is conditioned on the value it read, or done in the statement). An id
	// with no mark yet (never claimed) gets one. Unless r.Force, it first checks that no id
	// in range is held by a live lease and, if some are, changes nothing and returns a
	// *HeldError. With r.DryRun it changes nothing and returns what it would change. It returns
	// the ids whose marks it raised, in id order, with their marks before.
	RaiseMarks(ctx context.Context, r RaiseRequest) ([]MarkChange, error)
}

// RaiseRequest is what MarkRaiser.RaiseMarks needs.
type RaiseRequest struct {
	Size   int64     // ids 0 to Size-1, the manifest's pool (PoolSize of its layout)
	To     time.Time // the mark every lower one is raised to; whole milliseconds count
	Force  bool      // raise the marks of held ids too
	DryRun bool      // change nothing; report what would change
}

// MarkChange is one id whose mark RaiseMarks raised (or would raise).
type MarkChange struct {
	ID   int64
	Old  time.Time // zero if the id had no mark
	New  time.Time
	Held bool // a live lease held the id when its mark was read (only with Force)
}

// HeldError is returned by RaiseMarks without Force when some ids are held by live leases: their
// holders claimed from the store as it is now, and may be issuing below what was issued before
// the store lost its writes. Stop them (or wait out their leases), then raise.
type HeldError struct {
	IDs []int64 // the held ids, in order
}

func (e *HeldError) Error() string {
	ids := slices.Clone(e.IDs)
	slices.Sort(ids)
	shown := make([]string, 0, min(len(ids), 10))
	for _, id := range ids[:min(len(ids), 10)] {
		shown = append(shown, fmt.Sprint(id))
	}
	more := ""
	if len(ids) > 10 {
		more = fmt.Sprintf(" and %d more", len(ids)-10)
	}
	return fmt.Sprintf("snowfall: raise marks: %d generator ids are held by live leases (%s%s)", len(ids), strings.Join(shown, ", "), more)
}

// CheckRaise validates r: a pool size in [1, MaxPoolSize] and a non-zero target after 1970.
// Assigners call it first.
func CheckRaise(r RaiseRequest) error {
	if r.Size <= 0 || r.Size > MaxPoolSize {
		return &RangeError{Field: "pool size", Value: r.Size, Min: 1, Max: MaxPoolSize}
	}
	if r.To.UnixMilli() <= 0 {
		return fmt.Errorf("snowfall: raise marks: target %v is not after 1970", r.To)
	}
	return nil
}
