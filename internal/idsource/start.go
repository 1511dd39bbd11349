package idsource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// Back-off between attempts to reach the lease store at start: doubling from startBackoff up to
// maxStartBackoff, each wait drawn from [d/2, d].
const (
	startBackoff    = 250 * time.Millisecond
	maxStartBackoff = 5 * time.Second
)

// permanent reports whether err, from opening the store or reading its manifest, cannot pass by
// itself: the configuration contradicts what the store records (another layout or epoch), or what
// it records is invalid. Retrying cannot help; the process exits, as before it listened.
// Everything else (a store that is down, unreachable, refusing us for now) may pass.
func permanent(err error) bool {
	return errors.Is(err, snowfall.ErrMismatch) || errors.Is(err, snowfall.ErrInvalidLayout) ||
		errors.Is(err, snowfall.ErrOutOfRange) || errors.Is(err, sqlassign.ErrNotShared)
}

// starting is the source of a server whose lease store has not answered yet. It refuses to issue,
// as a lease not yet acquired, until the store answers and its manifest is read; from then on it
// hands everything to the Leased, which claims an id in the background
// (snowfall.LeaseSettings.Background).
type starting struct {
	leased atomic.Pointer[snowfall.Leased]
	layout snowfall.Layout // the one configured, or zero: the manifest's, not known yet

	mu       sync.Mutex
	failures uint64
	lastErr  error
}

func (s *starting) notYet() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cause := s.lastErr
	if cause == nil {
		cause = errors.New("the lease store has not answered yet")
	}
	return &snowfall.FenceError{Cause: fmt.Errorf("%w: %w", snowfall.ErrLeaseLost, cause)}
}

func (s *starting) fail(err error) {
	s.mu.Lock()
	s.failures++
	s.lastErr = err
	s.mu.Unlock()
}

func (s *starting) NextContext(ctx context.Context) (snowfall.ID, error) {
	if l := s.leased.Load(); l != nil {
		return l.NextContext(ctx)
	}
	return 0, s.notYet()
}

func (s *starting) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	if l := s.leased.Load(); l != nil {
		return l.Fill(ctx, ids)
	}
	return 0, s.notYet()
}

func (s *starting) Stats() snowfall.Stats {
	if l := s.leased.Load(); l != nil {
		return l.Stats()
	}
	st := snowfall.Stats{Fenced: s.notYet()}
	if !s.layout.IsZero() {
		st.Layout, st.Spec, st.EpochMs = s.layout.Name(), s.layout.Spec(), s.layout.EpochMs()
	}
	return st
}

func (s *starting) Layout() snowfall.Layout {
	if l := s.leased.Load(); l != nil {
		return l.Layout()
	}
	return s.layout
}

// Lease reports LeaseAcquiring, with the last error, until the Leased exists.
func (s *starting) Lease() snowfall.LeaseStatus {
	if l := s.leased.Load(); l != nil {
		return l.Lease()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return snowfall.LeaseStatus{GeneratorID: -1, State: snowfall.LeaseAcquiring, Failures: s.failures, LastError: s.lastErr}
}

func (s *starting) Ready() error {
	if l := s.leased.Load(); l != nil {
		return l.Ready()
	}
	return s.notYet()
}

// startLeased returns at once a Source that opens the store and reads its manifest in the
// background, retrying with a bounded, jittered back-off and logging each change of what fails;
// the Leased it then makes claims an id in the background. A permanent error (see permanent) ends
// the attempts: Failed is closed and Err returns it.
func startLeased(cfg Config, clock snowfall.Clock) *Source {
	log := cfg.Logger
	st := &starting{}
	if cfg.LayoutSet {
		st.layout = cfg.Layout
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{src: st, log: log, failed: make(chan struct{})}
	done := make(chan struct{})
	var store assignurl.Store // the loop's until done, then Close's
	s.close = func() {
		cancel()
		<-done
		if l := st.leased.Load(); l != nil {
			closeLeased(log, l)
		}
		if store != nil {
			store.Close()
		}
	}
	ls := snowfall.LeaseSettings{Probe: cfg.Probe, Clock: clock, Logger: log, Background: true, After: cfg.Floor}
	if cfg.LayoutSet {
		ls.Layout = cfg.Layout // else the manifest's layout
	}
	go func() {
		defer close(done)
		noticed := false // the database's waiting notice, once
		say := func(msg string) {
			if !noticed {
				noticed = true
				log.Info(msg)
			}
		}
		failing := "" // the step that failed last, logged when it changes
		for backoff := startBackoff; ; backoff = min(2*backoff, maxStartBackoff) {
			step, err := "open the lease store", error(nil)
			if store == nil {
				store, err = OpenDB(ctx, cfg.DB, cfg.Group, cfg.DBTimeout, say)
			}
			if err == nil {
				step = "read the lease store's manifest"
				var l *snowfall.Leased
				err = DBCall(ctx, "read the manifest", cfg.DB, cfg.DBTimeout, say, func(ctx context.Context) error {
					if err := setStart(ctx, cfg, store, &ls); err != nil {
						return err
					}
					var err error
					l, err = snowfall.NewLeased(ctx, store, ls) // ctx bounds the manifest's read only
					return err
				})
				if err == nil {
					unique := uniqueAmong(store, cfg.DB, cfg.Group)
					s.unique.Store(&unique)
					st.leased.Store(l)
					log.Info("lease store reached; claiming a generator id", "db", cfg.DB, "group", cfg.Group, "layout", l.Layout().Name(),
						"unique_among", unique)
					warnLifetime(log, l.Layout(), time.Now())
					return
				}
			}
			if ctx.Err() != nil {
				return
			}
			err = fmt.Errorf("lease from %s: %w", cfg.DB, err)
			if permanent(err) {
				s.err = err
				close(s.failed)
				return
			}
			st.fail(err)
			if step != failing {
				failing = step
				log.Warn("cannot "+step+"; serving /livez, and 503 with the reason elsewhere, while retrying (logged again only when this changes)", "err", err)
			} else {
				log.Debug("cannot "+step, "err", err)
			}
			t := time.NewTimer(backoff/2 + mrand.N(backoff/2+1))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// closeLeased releases l's lease and says whether it did.
func closeLeased(log *slog.Logger, l *snowfall.Leased) {
	id := l.Lease().GeneratorID
	if err := l.Close(); err != nil {
		log.Warn("lease not released; it expires by itself", "generator", id, "err", err)
	} else if id >= 0 {
		log.Info("lease released", "generator", id)
	}
}
