// Package idsource holds the wiring that the two server commands, snowfall serve and
// snowflake_start_server, share: Open opens the source of IDs a configuration asks for (a generator
// with fixed node values, one guarded by a state file, or one whose generator id is leased from a
// database), and Listen builds the HTTP server for it and listens. The database steps (OpenDB,
// DBCall) run under a deadline and say what they wait for; snowfall leases and schema create use
// them too.
package idsource

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/statefile"
)

// Config says which source to open. With DB set, the generator id is leased from that database;
// else Node gives the node values, and StateFile, if set, keeps a high-water mark across restarts.
type Config struct {
	// Layout is the IDs' layout. With DB, it is used only when LayoutSet: else the manifest's.
	Layout    snowfall.Layout
	LayoutSet bool
	// Node holds the node values, without DB.
	Node snowfall.Node
	// StateFile, without DB, is the file recording the high-water mark; "" for none.
	StateFile string
	// TrustFSLocks opens a state file on a filesystem not known as local (statefile.ErrUntrustedFS).
	TrustFSLocks bool
	// DB is the URL of the lease database, Group the group of generator ids in it, Probe the
	// lease heartbeat interval (zero: the manifest's) and DBTimeout the deadline of each start-up
	// step on the database.
	DB        redact.URL
	Group     string
	Probe     time.Duration
	DBTimeout time.Duration
	// ExitOnStartFailure, with DB, makes Open wait for the store and the first claim and return
	// their error, as servers did before they could start without a lease. Without it, Open
	// returns at once and the source acquires its lease in the background (see Failed).
	ExitOnStartFailure bool
	// Embedded says DB is the embedded default store, not one given: claims on it start at an id
	// derived from this host and the store (see PropStartSalt), so that independent deployments
	// rarely take the same one.
	Embedded bool
	// ClockOffset shifts the generator's clock, for fault-injection tests only; Open warns.
	ClockOffset time.Duration
	// Floor is a migration floor (snowfall.ParseFloor): every generator issues only above it, and
	// above the floor the state file or the lease gives. The zero time sets none.
	Floor time.Time
	// Logger receives what Open and Close do; it must not be nil.
	Logger *slog.Logger
}

// Source is an open ID source. Listen serves it; Close releases what it holds.
type Source struct {
	src       snowfall.Source // a *snowfall.Generator, *statefile.Source, *snowfall.Leased or *starting
	log       *slog.Logger
	unique    atomic.Pointer[string] // for a leased id, once its store is open: see uniqueAmong
	closeOnce sync.Once
	close     func()
	failed    chan struct{} // closed when a background start failed for good; nil: never
	err       error         // why, once failed is closed
}

// UniqueAmong says which servers the source's IDs are unique among ("servers sharing <store>"), for
// a leased generator id once its store is open; "" otherwise.
func (s *Source) UniqueAmong() string {
	if p := s.unique.Load(); p != nil {
		return *p
	}
	return ""
}

// Failed returns a channel that is closed when a source started in the background met an error
// that cannot pass (see Err): another layout or epoch than the store's, an invalid manifest. It
// is nil (never ready) for other sources.
func (s *Source) Failed() <-chan struct{} { return s.failed }

// Err returns why Failed was closed, or nil.
func (s *Source) Err() error {
	select {
	case <-s.failed:
		return s.err
	default:
		return nil
	}
}

// Close stops the source: it releases the lease (and logs whether it did) and closes the database,
// or closes the state file. It is idempotent and returns nil: a lease not released expires by
// itself.
func (s *Source) Close() error {
	s.closeOnce.Do(s.close)
	return nil
}

// Open opens the source cfg asks for. Its errors name what failed: opening the state file, the
// generator's settings, the database (see OpenDB), or the first claim ("lease from URL: …", with
// its display form, without the password; a driver's words are never in the message, see
// redact.Error). With DB and without ExitOnStartFailure, it returns at once and the lease is
// acquired in the background: the source refuses to issue, saying why, until it is held.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	var clock snowfall.Clock
	if cfg.ClockOffset != 0 {
		cfg.Logger.Warn("clock offset set: for fault-injection tests only", "offset", cfg.ClockOffset)
		clock = snowfall.OffsetClock(cfg.ClockOffset)
	}
	s := &Source{log: cfg.Logger, close: func() {}}
	switch {
	case !cfg.DB.IsZero() && !cfg.ExitOnStartFailure:
		return startLeased(cfg, clock), nil
	case !cfg.DB.IsZero():
		return openLeased(ctx, cfg, clock)
	case cfg.StateFile != "":
		sf, err := statefile.Open(statefile.Settings{Path: cfg.StateFile, Layout: cfg.Layout, Node: cfg.Node, Clock: clock, Logger: cfg.Logger, After: cfg.Floor, TrustFSLocks: cfg.TrustFSLocks})
		if err != nil {
			return nil, err
		}
		s.src, s.close = sf, func() { sf.Close() }
	default:
		g, err := snowfall.New(snowfall.Settings{Layout: cfg.Layout, Node: cfg.Node, Clock: clock, After: cfg.Floor})
		if err != nil {
			return nil, err
		}
		s.src = g
	}
	return s, nil
}

// openLeased opens the database and claims a generator id from it.
func openLeased(ctx context.Context, cfg Config, clock snowfall.Clock) (*Source, error) {
	log := cfg.Logger
	say := func(msg string) { log.Info(msg) }
	a, err := OpenDB(ctx, cfg.DB, cfg.Group, cfg.DBTimeout, say)
	if err != nil {
		return nil, err
	}
	ls := snowfall.LeaseSettings{Probe: cfg.Probe, Clock: clock, Logger: log, After: cfg.Floor}
	if cfg.LayoutSet {
		ls.Layout = cfg.Layout // else the manifest's layout
	}
	var leased *snowfall.Leased
	err = DBCall(ctx, "claim a generator id", cfg.DB, cfg.DBTimeout, say, func(ctx context.Context) error {
		if err := setStart(ctx, cfg, a, &ls); err != nil {
			return err
		}
		var err error
		leased, err = snowfall.NewLeased(ctx, a, ls) // ctx bounds the first claim only
		return err
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("lease from %s: %w", cfg.DB, err)
	}
	st := leased.Lease()
	unique := uniqueAmong(a, cfg.DB, cfg.Group)
	log.Info("lease acquired", "db", cfg.DB, "group", cfg.Group, "generator", st.GeneratorID, "expires", st.Expires,
		"unique_among", unique)
	s := &Source{src: leased, log: log}
	s.unique.Store(&unique)
	s.close = func() {
		closeLeased(log, leased)
		a.Close()
	}
	return s, nil
}

// Fill fills ids with new IDs from the source (see snowfall.Source), for snowfall next.
func (s *Source) Fill(ctx context.Context, ids []snowfall.ID) (int, error) {
	return s.src.Fill(ctx, ids)
}
