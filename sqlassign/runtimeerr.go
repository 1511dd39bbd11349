package sqlassign

import (
	"errors"
	"fmt"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// fail returns err, the failure of operation op on the store, in the project's words, as Open's
// errors are: a driver's error (a query on a connection killed mid-run, a reconnect the server
// refuses), whose text may quote the DSN, the user or the server's words, becomes a redact.Error,
// "sqlassign: <op> at <display form>: <class>", the cause reachable through errors.Unwrap and
// errors.As but not part of the message. The project's own errors (lost leases, conflicts, races,
// held ids, or one already in these words) keep their message. It returns nil for nil.
func (a *Assigner) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *redact.Error
	var held *snowfall.HeldError
	var rng *snowfall.RangeError
	switch {
	case errors.As(err, &re), errors.As(err, &held), errors.As(err, &rng),
		errors.Is(err, snowfall.ErrLeaseLost), errors.Is(err, snowfall.ErrClaimConflict),
		errors.Is(err, snowfall.ErrNoFreeGenerator), errors.Is(err, ErrNotShared), errors.Is(err, errRace):
		return fmt.Errorf("sqlassign: %s: %w", op, err)
	}
	return redact.Wrap("sqlassign: "+op+" at", a.url, err, a.classify)
}
