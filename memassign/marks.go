package memassign

import (
	"context"
	"time"

	"github.com/snowfall-go/snowfall"
)

// RaiseMarks implements snowfall.MarkRaiser, under the manifest's lock: one atomic step.
func (a *Assigner) RaiseMarks(ctx context.Context, r snowfall.RaiseRequest) ([]snowfall.MarkChange, error) {
	if err := snowfall.CheckRaise(r); err != nil {
		return nil, err
	}
	to := time.UnixMilli(r.To.UnixMilli())
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("raise marks"); err != nil {
		return nil, err
	}
	now := a.now()
	var held []int64
	var out []snowfall.MarkChange
	for id := range r.Size {
		w := a.rows[id]
		live := w != nil && now.Before(w.expires)
		if live {
			held = append(held, id)
		}
		var old time.Time
		if w != nil {
			old = w.mark
		}
		if old.Before(to) {
			out = append(out, snowfall.MarkChange{ID: id, Old: old, New: to, Held: live})
		}
	}
	if len(held) > 0 && !r.Force {
		return nil, &snowfall.HeldError{IDs: held}
	}
	if r.DryRun {
		return out, nil
	}
	for _, c := range out {
		w := a.rows[c.ID]
		if w == nil {
			w = &row{}
			a.rows[c.ID] = w
		}
		w.mark = to
	}
	return out, nil
}

var _ snowfall.MarkRaiser = (*Assigner)(nil)
