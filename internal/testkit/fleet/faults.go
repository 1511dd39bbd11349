package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// Fault kinds, as counted in the summary.
const (
	SigKill = "sigkill" // SIGKILL and restart
	SigStop = "sigstop" // SIGSTOP for longer than the lease, then SIGCONT
	DBCut   = "dbcut"   // the database cut off for longer than the lease, then restored
	SigTerm = "sigterm" // SIGTERM, and a new process takes over
	Skew    = "skew"    // a server whose clock is off (counted once per skewed slot)
)

// Plan describes the faults to inject.
type Plan struct {
	// Seed fixes the order of the faults and the servers they hit.
	Seed uint64
	// Lease is how long a lease outlives its last renewal; pauses and cuts last Hold of it.
	Lease time.Duration
	// Hold is how long a SIGSTOP or a cut-off lasts; zero means twice the lease.
	Hold time.Duration
	// Settle is the time between faults.
	Settle time.Duration
	// Rounds is how many times every kind of fault is injected; Until, when not zero, repeats
	// rounds until that long after the fleet started instead.
	Rounds int
	Until  time.Duration
	// Kinds are the kinds of faults to inject; nil means all that the fleet supports.
	Kinds []string
}

// Inject runs the plan against f and returns the faults injected by kind. During every pause and
// cut-off it kills and restarts another server past the lease, so that the new process can take
// over the generator id of the one that is paused or cut off: the woken or reconnected process must
// then not issue with it.
func (f *Fleet) Inject(ctx context.Context, p Plan) (map[string]int, error) {
	if p.Hold == 0 {
		p.Hold = 2 * p.Lease
	}
	kinds := p.Kinds
	if kinds == nil {
		kinds = []string{SigKill, SigStop, SigTerm}
		if f.slots[0].proxy != nil {
			kinds = append(kinds, DBCut)
		}
	}
	done := map[string]int{}
	for i := range f.slots {
		if f.Offset(i) != 0 {
			done[Skew]++
		}
	}
	rng := rand.New(rand.NewPCG(p.Seed, p.Seed^0x5eed))
	for round := 0; round < p.Rounds || f.Since() < p.Until; round++ {
		order := append([]string(nil), kinds...)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, kind := range order {
			if ctx.Err() != nil {
				return done, nil
			}
			target := rng.IntN(len(f.slots))
			other := (target + 1 + rng.IntN(len(f.slots)-1)) % len(f.slots)
			if err := f.inject(ctx, kind, target, other, p, done); err != nil {
				return done, fmt.Errorf("fleet: %s on server %d: %w", kind, target, err)
			}
			sleep(ctx, p.Settle)
		}
		if p.Until > 0 && f.Since() >= p.Until {
			break
		}
	}
	return done, nil
}

func (f *Fleet) inject(ctx context.Context, kind string, target, other int, p Plan, done map[string]int) error {
	switch kind {
	case SigKill:
		return f.killRestart(ctx, target, done)
	case SigTerm:
		if err := f.Signal(target, syscall.SIGTERM); err != nil {
			return err
		}
		if err := f.Wait(target, 15*time.Second); err != nil {
			return fmt.Errorf("after SIGTERM: %w", err)
		}
		done[SigTerm]++
		return f.Restart(ctx, target)
	case SigStop, DBCut:
		if kind == SigStop {
			if err := f.Signal(target, syscall.SIGSTOP); err != nil {
				return err
			}
		} else if err := f.Cut(target); err != nil {
			return err
		}
		began := time.Now()
		// Past the lease, a new process may take over the target's generator id.
		sleep(ctx, p.Lease+p.Lease/2)
		if err := f.killRestart(ctx, other, done); err != nil {
			return err
		}
		sleep(ctx, p.Hold-time.Since(began))
		if kind == SigStop {
			if err := f.Signal(target, syscall.SIGCONT); err != nil {
				return err
			}
		} else {
			f.Restore(target)
		}
		done[kind]++
	}
	return nil
}

func (f *Fleet) killRestart(ctx context.Context, i int, done map[string]int) error {
	if err := f.Signal(i, syscall.SIGKILL); err != nil {
		return err
	}
	f.Wait(i, 10*time.Second) // killed: the exit status is "signal: killed"
	done[SigKill]++
	return f.Restart(ctx, i)
}
