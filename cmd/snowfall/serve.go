package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/server"
)

// DefaultPort is the port both ID servers listen on by default, pysnowflake's.
const defaultPort = 8910

type serveCmd struct{}

func (serveCmd) Name() string     { return "serve" }
func (serveCmd) Synopsis() string { return "serve IDs over HTTP (pysnowflake-compatible)" }

// serveFlags are the flags of snowfall serve.
type serveFlags struct {
	host        string
	port        int
	layout      cli.LayoutFlags
	logFormat   string
	clockOffset time.Duration
}

func (c serveCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall serve [--host H] [--port P] [--layout L] [--epoch E] [--generator G | --dc D --worker W]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f serveFlags
	fs.StringVar(&f.host, "host", "localhost", "address to listen on")
	fs.IntVar(&f.port, "port", defaultPort, "port to listen on, 0 for any free port")
	f.layout.Register(fs, true)
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&f.clockOffset, "clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	if err := cli.Parse(fs, args, "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	if f.port < 0 || f.port > 65535 {
		return cli.Usagef("serve: --port %d out of range [0, 65535]", f.port)
	}
	log, err := server.NewLogger(f.logFormat, sio.Err)
	if err != nil {
		return cli.Usagef("serve: --log-format: %v", err)
	}
	l, err := f.layout.Resolve()
	if err != nil {
		return err
	}
	node, err := f.layout.Node(l)
	if err != nil {
		return err
	}
	var clock snowfall.Clock
	if f.clockOffset != 0 {
		log.Warn("clock offset set: for fault-injection tests only", "offset", f.clockOffset)
		clock = snowfall.OffsetClock(f.clockOffset)
	}
	g, err := snowfall.New(snowfall.Settings{Layout: l, Node: node, Clock: clock})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return serve(ctx, g, f.host, f.port, log, sio)
}

// serve runs the HTTP server for src until ctx is done.
func serve(ctx context.Context, src snowfall.Source, host string, port int, log *slog.Logger, sio cli.IO) error {
	srv, err := server.New(server.Config{Source: src, Logger: log})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	server.WarnLifetime(log, src.Layout(), time.Now())
	ln, err := server.Listen(ctx, host, port)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(sio.Out, server.ListenMessage, ln.Addr())
	return srv.Serve(ctx, ln)
}
