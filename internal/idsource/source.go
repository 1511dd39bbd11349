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
	// DB is the URL of the lease database, Group the group of generator ids in it, Probe the
	// lease heartbeat interval (zero: the manifest's) and DBTimeout the deadline of each start-up
	// step on the database.
	DB        string
	Group     string
	Probe     time.Duration
	DBTimeout time.Duration
	// Embedded says DB is the embedded default store, not one given: claims on it start at an id
	// derived from this host and the store (see PropStartSalt), so that independent deployments
	// rarely take the same one.
	Embedded bool
	// ClockOffset shifts the generator's clock, for fault-injection tests only; Open warns.
	ClockOffset time.Duration
	// Logger receives what Open and Close do; it must not be nil.
	Logger *slog.Logger
}

// Source is an open ID source. Listen serves it; Close releases what it holds.
type Source struct {
	src       snowfall.Source // a *snowfall.Generator, *statefile.Source or *snowfall.Leased
	log       *slog.Logger
	closeOnce sync.Once
	close     func()
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
// the password hidden; the message may still hold it in a driver's words, see redact.Error).
func Open(ctx context.Context, cfg Config) (*Source, error) {
	var clock snowfall.Clock
	if cfg.ClockOffset != 0 {
		cfg.Logger.Warn("clock offset set: for fault-injection tests only", "offset", cfg.ClockOffset)
		clock = snowfall.OffsetClock(cfg.ClockOffset)
	}
	s := &Source{log: cfg.Logger, close: func() {}}
	switch {
	case cfg.DB != "":
		return openLeased(ctx, cfg, clock)
	case cfg.StateFile != "":
		sf, err := statefile.Open(statefile.Settings{Path: cfg.StateFile, Layout: cfg.Layout, Node: cfg.Node, Clock: clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		s.src, s.close = sf, func() { sf.Close() }
	default:
		g, err := snowfall.New(snowfall.Settings{Layout: cfg.Layout, Node: cfg.Node, Clock: clock})
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
	ls := snowfall.LeaseSettings{Probe: cfg.Probe, Clock: clock, Logger: log}
	if cfg.LayoutSet {
		ls.Layout = cfg.Layout // else the manifest's layout
	}
	var leased *snowfall.Leased
	err = DBCall(ctx, "claim a generator id", cfg.DB, cfg.DBTimeout, say, func(ctx context.Context) error {
		var err error
		if cfg.Embedded {
			if ls.Start, err = embeddedStart(ctx, a, thisHost()); err != nil {
				return err
			}
		}
		leased, err = snowfall.NewLeased(ctx, a, ls) // ctx bounds the first claim only
		return err
	})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("lease from %s: %w", redact.DSN(cfg.DB), err)
	}
	st := leased.Lease()
	log.Info("lease acquired", "db", redact.DSN(cfg.DB), "group", cfg.Group, "generator", st.GeneratorID, "expires", st.Expires)
	return &Source{src: leased, log: log, close: func() {
		if err := leased.Close(); err != nil {
			log.Warn("lease not released; it expires by itself", "generator", st.GeneratorID, "err", err)
		} else {
			log.Info("lease released", "generator", leased.Lease().GeneratorID)
		}
		a.Close()
	}}, nil
}
