// Package memassign is an in-process snowfall.Assigner: one manifest shared by the generators of
// one process, for tests and prototypes. Its lease times come from an injected clock.
package memassign

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/simbug"
)

// Assigner keeps a manifest in memory. The zero value is not usable; call New. It is safe for
// concurrent use.
type Assigner struct {
	now func() time.Time

	mu    sync.Mutex
	props map[string]string
	rows  map[int64]*row
	fail  error
}

type row struct {
	token   string
	holder  snowfall.Holder
	claimed time.Time
	renewed time.Time
	expires time.Time
	mark    time.Time
}

// New returns an empty manifest whose lease times are read from now (nil means time.Now).
func New(now func() time.Time) *Assigner {
	if now == nil {
		now = time.Now
	}
	return &Assigner{now: now, props: map[string]string{}, rows: map[int64]*row{}}
}

// Fail makes every call return err (wrapped) until Fail(nil), to simulate an unreachable store.
func (a *Assigner) Fail(err error) {
	a.mu.Lock()
	a.fail = err
	a.mu.Unlock()
}

func (a *Assigner) check(op string) error {
	if a.fail != nil {
		return fmt.Errorf("memassign: %s: %w", op, a.fail)
	}
	return nil
}

// Properties implements snowfall.Assigner.
func (a *Assigner) Properties(ctx context.Context, defaults map[string]string) (map[string]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("properties"); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range defaults {
		if _, ok := a.props[k]; !ok {
			a.props[k] = v
		}
	}
	for k, v := range a.props {
		out[k] = v
	}
	return out, nil
}

// Claim implements snowfall.Assigner. Of the free ids it takes the lowest whose mark is not ahead of
// r.Now, or, when every free id's mark is ahead, the one whose mark is the least ahead.
func (a *Assigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("claim"); err != nil {
		return snowfall.Claim{}, err
	}
	now := a.now()
	best := int64(-1)
	var bestMark time.Time
	for id := int64(0); id < r.Size; id++ {
		w := a.rows[id]
		if w != nil && now.Before(w.expires) {
			continue
		}
		var mark time.Time
		if w != nil {
			mark = w.mark
		}
		if simbug.FarMarkClaim || !mark.After(r.Now) {
			best = id // the lowest id not ahead: nothing can be better
			break
		}
		if best < 0 || mark.Before(bestMark) {
			best, bestMark = id, mark
		}
	}
	if best < 0 {
		return snowfall.Claim{}, fmt.Errorf("%w: all %d generator ids are held by live instances", snowfall.ErrNoFreeGenerator, r.Size)
	}
	w := a.rows[best]
	if w == nil {
		w = &row{}
		a.rows[best] = w
	}
	prev := w.mark
	mark := r.Now
	if mark.Before(prev) {
		mark = prev
	}
	mark = mark.Add(r.Ahead)
	*w = row{token: r.Token, holder: r.Holder, claimed: now, renewed: now, expires: now.Add(r.Lease), mark: mark}
	return snowfall.Claim{ID: best, Prev: prev, Mark: mark}, nil
}

// Renew implements snowfall.Assigner; it never lowers the mark.
func (a *Assigner) Renew(ctx context.Context, id int64, token string, lease time.Duration, mark time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("renew"); err != nil {
		return err
	}
	w := a.rows[id]
	if w == nil || w.token != token {
		return fmt.Errorf("memassign: renew generator %d: %w: held by another token", id, snowfall.ErrLeaseLost)
	}
	now := a.now()
	w.renewed, w.expires = now, now.Add(lease)
	if mark.After(w.mark) || simbug.LowerMark {
		w.mark = mark // marks only rise: a late renewal must not lower a later one's
	}
	return nil
}

// Release implements snowfall.Assigner.
func (a *Assigner) Release(ctx context.Context, id int64, token string, mark time.Time) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("release"); err != nil {
		return err
	}
	w := a.rows[id]
	if w == nil || w.token != token {
		return fmt.Errorf("memassign: release generator %d: %w: held by another token", id, snowfall.ErrLeaseLost)
	}
	*w = row{mark: mark}
	return nil
}

// Leases implements snowfall.Assigner.
func (a *Assigner) Leases(ctx context.Context) ([]snowfall.LeaseRecord, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("leases"); err != nil {
		return nil, err
	}
	now := a.now()
	var out []snowfall.LeaseRecord
	for id := int64(0); id < int64(len(a.rows)); id++ {
		w := a.rows[id]
		if w == nil || !now.Before(w.expires) {
			continue
		}
		out = append(out, snowfall.LeaseRecord{ID: id, Holder: w.holder, Claimed: w.claimed,
			Renewed: w.renewed, Expires: w.expires, Mark: w.mark})
	}
	return out, nil
}

var _ snowfall.Assigner = (*Assigner)(nil)

// Expire ends the lease on id at once, as if it had lapsed, for tests of lease loss.
func (a *Assigner) Expire(ctx context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w := a.rows[id]; w != nil {
		w.expires = time.Time{}
	}
	return nil
}
