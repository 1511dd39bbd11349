// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): instead of checking
// that the store is shared, this refuses it by spelling, as serve's processLocal did at 86bca99
// (":memory:" and "mode=memory" in the URL), before issue 18.

package sqlassign

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNotShared is as in shared.go.
var ErrNotShared = errors.New("sqlassign: lease store not shared between processes")

type notSharedError struct{ store, why string }

func (e *notSharedError) Error() string {
	return fmt.Sprintf("sqlassign: %s is not shared between processes: %s", e.store, e.why)
}

func (e *notSharedError) Is(target error) bool { return target == ErrNotShared }

// checkShared refuses the spellings the shipped guard knew.
func (a *Assigner) checkShared(_ context.Context, t target) error {
	a.store = t.display
	d := strings.ToLower(strings.TrimSpace(t.display))
	if strings.Contains(d, ":memory:") || strings.Contains(d, "mode=memory") {
		return &notSharedError{t.display, "it keeps leases inside this process"}
	}
	return nil
}
