package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/sqlassign"
)

type serveCmd struct{}

func (serveCmd) Name() string     { return "serve" }
func (serveCmd) Synopsis() string { return "serve IDs over HTTP (pysnowflake-compatible)" }

var serveSpec = cli.Spec{
	Name: "serve",
	Usage: "snowfall serve [--host H] [--port P] [--admin-addr HOST:PORT] [--layout L] [--epoch E] [--generator G | --dc D --worker W | --db URL [--group G] [--probe D] [--db-timeout D] [--exit-on-start-failure]] [--state-file PATH] [--floor ID|TIME] [--max-conns N] [--drain-delay D] [--shutdown-timeout D]\n" +
		"(without --generator, --dc/--worker and --db, the generator id is leased from a SQLite file in $XDG_STATE_HOME/snowfall, default ~/.local/state/snowfall)",
	EnvPrefix: envPrefix,
}

// Run parses and checks the flags, opens the ID source they ask for, listens and serves until ctx
// is done; then it drains (see --drain-delay; a second signal, through hurry, ends the delay),
// finishes what is in flight and closes the source (a lease released). A lease store that
// contradicts the flags (another layout or epoch) ends it, as at start.
func (c serveCmd) Run(ctx context.Context, args []string, sio cli.IO) (err error) {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := serveSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	cfg, err := f.config(fs, sio)
	if err != nil {
		return err
	}
	routeMySQLLog(cfg.Logger, cfg.DB)
	src, err := idsource.Open(ctx, cfg)
	if errors.Is(err, sqlassign.ErrNotShared) {
		return notShared(err)
	}
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer src.Close()
	ln, err := idsource.Listen(ctx, src, idsource.ListenConfig{Host: f.listen.Host, Port: f.listen.Port.V, MaxConns: f.maxConns.V,
		AdminAddr: f.adminAddr, DrainDelay: f.drainDelay, ShutdownTimeout: f.shutdown, Hurry: hurried(ctx), Out: sio.Out})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := ln.Serve(ctx); errors.Is(err, sqlassign.ErrNotShared) {
		return notShared(err) // found in the background, once the store was opened
	} else if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// notShared is the usage error of a lease store that other servers cannot share.
func notShared(err error) error {
	return cli.Usagef("serve: --db: %w; use --generator N (with --state-file) for a fixed id, "+
		"or a store other servers share: the default sqlite:///… file (no --db), postgres://, mysql:// or etcd://", err)
}
