package snowfall

import (
	"context"
	"runtime"
	"time"
)

// wait blocks until the tick after last has begun, counting the event, or returns why it will not.
func (g *Generator) wait(ctx context.Context, try bool, now, last, wall int64) error {
	until := g.tickWall(last + 1)
	backwards := now < last
	if backwards {
		g.countOnce(&g.backTick, &g.backwards, last)
		behind := time.Duration(g.tickWall(last) - wall)
		if g.maxBack < 0 || behind > g.maxBack {
			return &ClockBackwardsError{Behind: behind, Max: max(g.maxBack, 0)}
		}
	} else {
		g.countOnce(&g.overTick, &g.overloads, last)
	}
	if try {
		return &WouldWaitError{Wait: time.Duration(until - wall), Backwards: backwards}
	}
	return g.sleepUntil(ctx, until, wall)
}

// spinWindow is how close to its target a wait stops sleeping and spins: the runtime's timers
// overshoot by up to about a millisecond, which would cost a good part of the next tick.
const spinWindow = 1500 * time.Microsecond

// sleepUntil waits until the clock reaches the Unix nanoseconds until. It sleeps while the target is
// far, then yields the processor in a loop, so it neither overshoots the target by a timer's slack
// nor spins for longer than about a tick.
//
// If the clock steps further back while it waits, it returns early, so that the caller judges the
// new distance against its bound instead of waiting for longer than that bound.
func (g *Generator) sleepUntil(ctx context.Context, until, wall int64) error {
	first := time.Duration(until - wall)
	for {
		rem := time.Duration(until - wall)
		if rem <= 0 || rem > first {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case g.sleeper != nil:
			if err := g.sleeper.Sleep(ctx, rem); err != nil {
				return err
			}
		case rem > spinWindow:
			if err := sleepCtx(ctx, rem-spinWindow); err != nil {
				return err
			}
		default:
			runtime.Gosched()
		}
		wall, _ = g.read()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if ctx.Done() == nil {
		time.Sleep(d)
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
