// Package memassign is an in-process snowfall.Assigner: one manifest shared by the generators of
// one process, for tests and prototypes. Its lease times come from an injected clock.
package memassign

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/simbug"
)

// Assigner keeps a manifest in memory. The zero value is not usable; call New. It is safe for
// concurrent use.
type Assigner struct {
	now func() time.Time

	mu       sync.Mutex
	props    map[string]string
	rows     map[int64]*row
	versions int64 // the last version given to a row
	fail     error
}

type row struct {
	token   string
	holder  snowfall.Holder
	claimed time.Time
	renewed time.Time
	expires time.Time
	mark    time.Time
	version int64
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

// Free implements snowfall.Assigner.
func (a *Assigner) Free(ctx context.Context, r snowfall.FreeRequest) ([]snowfall.FreeID, error) {
	if err := checkFree(r); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("free"); err != nil {
		return nil, err
	}
	now := a.now()
	due := make([]snowfall.FreeID, 0, min(int64(r.Limit), r.Size))
	var ahead []snowfall.FreeID
	for i := range r.Size {
		id := (r.Start + i) % r.Size // from Start, wrapping
		var f snowfall.FreeID
		if w := a.rows[id]; w != nil {
			if now.Before(w.expires) {
				continue
			}
			f = snowfall.FreeID{ID: id, Mark: w.mark, Version: w.version}
		} else {
			f = snowfall.FreeID{ID: id}
		}
		if simbug.FarMarkClaim || !f.Mark.After(r.Now) {
			due = append(due, f)
			if len(due) == r.Limit {
				break
			}
		} else {
			ahead = append(ahead, f)
		}
	}
	// Stable: among equal marks, the wrapping order from Start.
	slices.SortStableFunc(ahead, func(x, y snowfall.FreeID) int { return x.Mark.Compare(y.Mark) })
	out := append(due, ahead...)
	return out[:min(len(out), r.Limit)], nil
}

func checkFree(r snowfall.FreeRequest) error {
	if r.Size <= 0 || r.Size > snowfall.MaxPoolSize || r.Start < 0 || r.Start >= r.Size || r.Limit < 1 {
		return fmt.Errorf("memassign: free: size %d, start %d, limit %d: want size in [1, %d], start in [0, size), limit at least 1",
			r.Size, r.Start, r.Limit, snowfall.MaxPoolSize)
	}
	return nil
}

// Claim implements snowfall.Assigner: it takes r.Free.ID if the row is free and still has the
// version and the mark Free read, else it returns an error wrapping snowfall.ErrClaimConflict.
// Every claim, renewal and release gives the row a new version.
func (a *Assigner) Claim(ctx context.Context, r snowfall.ClaimRequest) (snowfall.Claim, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.check("claim"); err != nil {
		return snowfall.Claim{}, err
	}
	id := r.Free.ID
	if id < 0 || id >= snowfall.MaxPoolSize {
		return snowfall.Claim{}, fmt.Errorf("memassign: claim generator %d: out of range [0, %d)", id, snowfall.MaxPoolSize)
	}
	now := a.now()
	w := a.rows[id]
	if w == nil {
		w = &row{}
	}
	if now.Before(w.expires) || w.version != r.Free.Version || !w.mark.Equal(r.Free.Mark) {
		return snowfall.Claim{}, fmt.Errorf("memassign: claim generator %d: %w", id, snowfall.ErrClaimConflict)
	}
	a.rows[id] = w
	prev := w.mark
	mark := r.Now
	if mark.Before(prev) {
		mark = prev
	}
	mark = mark.Add(r.Ahead)
	*w = row{token: r.Token, holder: r.Holder, claimed: now, renewed: now, expires: now.Add(r.Lease), mark: mark,
		version: a.nextVersion()}
	return snowfall.Claim{ID: id, Prev: prev, Mark: mark}, nil
}

// nextVersion returns a version no row has had. a.mu must be held.
func (a *Assigner) nextVersion() int64 {
	a.versions++
	return a.versions
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
	w.renewed, w.expires, w.version = now, now.Add(lease), a.nextVersion()
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
	*w = row{mark: mark, version: a.nextVersion()}
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
	for _, id := range slices.Sorted(maps.Keys(a.rows)) {
		w := a.rows[id]
		if !now.Before(w.expires) {
			continue
		}
		out = append(out, snowfall.LeaseRecord{ID: id, Holder: w.holder, Claimed: w.claimed,
			Renewed: w.renewed, Expires: w.expires, Mark: w.mark})
	}
	return out, nil
}

var _ snowfall.Assigner = (*Assigner)(nil)

// Expire ends the lease on id at once, as if it had lapsed, for tests of lease loss. The row keeps
// its version: expiry writes nothing in a real store either.
func (a *Assigner) Expire(ctx context.Context, id int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if w := a.rows[id]; w != nil {
		w.expires = time.Time{}
	}
	return nil
}
