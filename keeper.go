package snowfall

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"

	"github.com/snowfall-go/snowfall/internal/simbug"
)

// The keeper: claims, renewals and re-claims after a loss, in the Leased generator's goroutine.

// callTimeout bounds each renewal and release: a store that stopped answering must not hold the
// keeper (or Close) for longer than the permit it could still renew.
func (l *Leased) callTimeout() time.Duration { return l.lease - l.margin }

// claimTimeout bounds each claim. A claim decides nothing about safety, only when the holder gets
// an id, but the first one on a new manifest also adds a row per generator id (up to MaxPoolSize),
// so it gets at least minClaimTimeout.
func (l *Leased) claimTimeout() time.Duration { return max(l.callTimeout(), minClaimTimeout) }

// minClaimTimeout is the shortest deadline a claim gets.
const minClaimTimeout = 10 * time.Second

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// acquire claims an id, builds its generator and swaps it in.
func (l *Leased) acquire(ctx context.Context) error {
	start := l.clk.stamp()
	token := newToken()
	cctx, cancel := context.WithTimeout(ctx, l.claimTimeout())
	c, err := l.claim(cctx, ClaimRequest{Token: token, Lease: l.lease, Now: start.Time(), Ahead: l.lease, Holder: l.holder})
	cancel()
	if err != nil {
		l.fail(err)
		return err
	}
	after := c.Prev // the floor: the previous tenure's mark, or the caller's if that is later
	if l.after.After(after) {
		after = l.after
	}
	g, err := New(Settings{Layout: l.man.Layout, Node: NodeOf(l.man.Layout, c.ID), Clock: l.clk.clock,
		MaxBackwards: l.maxBack, After: after})
	if err != nil {
		l.giveBack(c.ID, token, c.Prev)
		l.fail(err)
		return err
	}
	// Claims prefer ids whose mark is not ahead of this clock, so a floor further ahead than the
	// generator waits out (its own check, Ready) means no better id was free: rather than sit on
	// an id it cannot issue from, the holder gives it back, its mark as it was, and reports it.
	if err := g.Ready(); errors.Is(err, ErrClockBackwards) && !simbug.FarMarkClaim {
		err = fmt.Errorf("snowfall: generator %d, the best free id, has a high-water mark %v ahead of this clock: %w",
			c.ID, c.Prev.Sub(start.Time()).Round(time.Millisecond), err)
		l.giveBack(c.ID, token, c.Prev)
		l.fail(err)
		return err
	}
	g.Grant(Permit{Until: c.Mark, Start: start, Valid: l.lease - l.margin})
	if old := l.cur.Swap(&tenure{g: g, id: c.ID, token: token, prev: c.Prev, mark: c.Mark}); old != nil {
		l.issued.Add(old.g.issuedNow())
	}
	l.begun = start
	l.mu.Lock()
	l.st.GeneratorID, l.st.State, l.st.Mark = c.ID, LeaseHeld, c.Mark
	l.st.Expires = start.Time().Add(l.lease)
	l.st.LastRenewal = start.Time()
	l.mu.Unlock()
	var floor any = c.Prev
	if c.Prev.IsZero() {
		floor = "none (first holder)"
	}
	l.log.Info("snowfall: lease acquired", "generator", c.ID, "floor", floor, "ceiling", c.Mark)
	return nil
}

// Claim spreading. A claim reads at least freeBatch free ids and tries first the preferred one
// that no other claim of this process is trying or took meanwhile (see joinBurst: claims of one
// process that run at once read from where the last one picked). After each
// conflict (another claimer took an id first, or its row changed) it tries one at random among the
// next 8^conflicts preferred ids it read (among those whose marks are not ahead of its clock, if
// there are any), so that claimers of several processes that read the same ids at once spread over
// them instead of all retrying the same one. It reads again after freeRetries conflicts on one read
// (the ids others took are then no longer listed), with a larger limit.
const (
	freeBatch   = 16
	freeRetries = 4
	spreadBits  = 3
	maxCrowded  = 8 // reads that found only ids other claims of this process took, before trying them
)

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// claim reads the free ids and claims one of them (see freeBatch), with r's token, clock and
// holder. It returns ErrNoFreeGenerator when every id is held, and keeps trying while claims
// conflict, until ctx ends.
func (l *Leased) claim(ctx context.Context, r ClaimRequest) (Claim, error) {
	size := PoolSize(l.man.Layout)
	b := joinBurst(l.a)
	defer b.leave()
	fr := FreeRequest{Size: size, Now: r.Now, Start: b.start(l.start%size, size), Limit: int(min(freeBatch, size))}
	conflicts, crowded := 0, 0
	for reads := 0; ; reads++ {
		if reads > 0 {
			fr.Limit = int(min(max(2*int64(fr.Limit), 2<<min(spreadBits*conflicts, 16)), size))
		}
		free, err := l.a.Free(ctx, fr)
		if err != nil {
			return Claim{}, err
		}
		if len(free) == 0 {
			return Claim{}, fmt.Errorf("%w: all %d generator ids are held by live instances", ErrNoFreeGenerator, size)
		}
		for tries := 0; len(free) > 0 && tries < freeRetries; tries++ {
			due := 0 // the ids whose marks are not ahead of this clock come first
			for due < len(free) && !free[due].Mark.After(r.Now) {
				due++
			}
			i := b.pick(free, due, 1<<min(spreadBits*conflicts, 16), conflicts > 0, crowded >= maxCrowded)
			if i < 0 {
				// Every id read is being claimed, or was taken, by other claims of this process:
				// wait a moment and read again (more of them); after a few times, try them anyway.
				crowded++
				if err := pause(ctx, time.Duration(crowded)*time.Millisecond); err != nil {
					return Claim{}, err
				}
				break
			}
			r.Free = free[i]
			c, err := l.a.Claim(ctx, r)
			if err == nil {
				if c.ID != r.Free.ID {
					// The contract says a claim takes the id asked for or none: one that took
					// another may have taken it in a state nobody read. Give it back.
					l.giveBack(c.ID, r.Token, c.Prev)
					return Claim{}, fmt.Errorf("snowfall: a claim of generator %d took generator %d: the assigner breaks its contract", r.Free.ID, c.ID)
				}
				return c, nil
			}
			if !errors.Is(err, ErrClaimConflict) {
				b.release(r.Free.ID)
				return Claim{}, err
			}
			free = slices.Delete(free, i, i+1)
			conflicts++
		}
		if err := ctx.Err(); err != nil {
			return Claim{}, fmt.Errorf("snowfall: claim: %d conflicts with other claimers in %d reads: %w", conflicts, reads+1, err)
		}
	}
}

// giveBack releases an id claimed but never issued from, with mark, the previous tenure's. A
// failure only leaves the lease to expire.
func (l *Leased) giveBack(id int64, token string, mark time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), l.callTimeout())
	defer cancel()
	if err := l.a.Release(ctx, id, token, mark); err != nil {
		l.log.Warn("snowfall: release of an unused claim failed; its lease will expire", "generator", id, "err", err)
	}
}

func (l *Leased) fail(err error) {
	l.mu.Lock()
	l.st.Failures++
	l.st.LastError = err
	l.mu.Unlock()
}

// renew records the next ceiling and, when that succeeds, grants it.
func (l *Leased) renew(ctx context.Context, t *tenure) error {
	start := l.clk.stamp()
	mark := start.Time().Add(l.lease)
	if mark.Before(t.mark) {
		mark = t.mark // never lower the mark: IDs up to it may have been issued
	}
	rctx, cancel := context.WithTimeout(ctx, l.lease-l.margin)
	err := l.a.Renew(rctx, t.id, t.token, l.lease, mark)
	cancel()
	if err != nil {
		return err
	}
	t.mark = mark // only the keeper's goroutine touches a current tenure's mark
	l.begun = start
	t.g.Grant(Permit{Until: mark, Start: start, Valid: l.lease - l.margin})
	l.mu.Lock()
	l.st.State, l.st.Mark, l.st.Renewals = LeaseHeld, mark, l.st.Renewals+1
	l.st.Expires = start.Time().Add(l.lease)
	l.st.LastRenewal = start.Time()
	l.mu.Unlock()
	return nil
}

// next returns how long to wait for the next renewal: a probe interval after the last one began,
// so that a slow claim or renewal does not push the next one past the permit's end.
func (l *Leased) next() time.Duration {
	return max(l.probe-l.begun.Since(l.clk.stamp()), 0)
}

// keep renews the lease every probe interval until ctx ends, and re-acquires after a loss.
func (l *Leased) keep(ctx context.Context) {
	defer close(l.done)
	wait := l.next()
	for {
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		t := l.cur.Load()
		if t == nil || t.g.permit.Load().closed {
			// Lost earlier: claim a new id.
			if err := l.acquire(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				l.noteClaim(err)
				wait = jitter(l.probe / 2)
				continue
			}
			l.noteClaim(nil)
			wait = l.next()
			continue
		}
		err := l.renew(ctx, t)
		switch {
		case err == nil:
			wait = l.next()
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrLeaseLost):
			t.g.Revoke(err)
			l.mu.Lock()
			l.st.State, l.st.Losses, l.st.LastError = LeaseLost, l.st.Losses+1, err
			l.mu.Unlock()
			l.log.Warn("snowfall: lease lost", "generator", t.id, "err", err)
			l.report(fmt.Errorf("snowfall: generator %d: %w", t.id, err))
			wait = 0
		default:
			l.fail(err)
			l.mu.Lock()
			l.st.State = LeaseFenced
			l.mu.Unlock()
			l.log.Warn("snowfall: renewal failed", "generator", t.id, "err", err)
			// Retry sooner; the permit lapses by itself if this lasts.
			wait = jitter(l.probe / 4)
		}
	}
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + mrand.N(d/2+1)
}

// report sends a loss to Lost and OnLost; Lost drops it when its buffer is full.
func (l *Leased) report(err error) {
	select {
	case l.lost <- err:
	default:
	}
	if l.onLost != nil {
		l.onLost(err)
	}
}
