package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/statefile"
)

// defaultPort is the port snowfall serve listens on by default, pysnowflake's.
const defaultPort = 8910

type serveCmd struct{}

func (serveCmd) Name() string     { return "serve" }
func (serveCmd) Synopsis() string { return "serve IDs over HTTP (pysnowflake-compatible)" }

// serveFlags are the flags of snowfall serve.
type serveFlags struct {
	host        string
	port        cli.IntFlag
	maxConns    cli.IntFlag
	layout      cli.LayoutFlags
	logFormat   string
	clockOffset time.Duration
	db          string
	group       string
	probe       time.Duration
	dbTimeout   time.Duration
	stateFile   string
}

// Bounds of the duration flags of serve (and of schema create's --probe).
const (
	minProbe       = 50 * time.Millisecond
	maxProbe       = 10 * time.Minute
	maxClockOffset = 24 * time.Hour
	maxConns       = 1 << 20
)

func (c serveCmd) Run(ctx context.Context, args []string, sio cli.IO) (err error) {
	const usage = "snowfall serve [--host H] [--port P] [--layout L] [--epoch E] [--generator G | --dc D --worker W | --db URL [--group G] [--probe D] [--db-timeout D]] [--state-file PATH] [--max-conns N]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f serveFlags
	fs.StringVar(&f.host, "host", "localhost", "address to listen on")
	f.port.V, f.maxConns.V = defaultPort, server.DefaultMaxConns
	fs.Var(&f.port, "port", "port to listen on, 0 for any free port")
	fs.Var(&f.maxConns, "max-conns", "most connections served at once; more clients wait in the listen queue")
	f.layout.Register(fs, true)
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&f.clockOffset, "clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	fs.StringVar(&f.db, "db", "", "lease the generator id from this database: a sqlite:, postgres:, mysql: or etcd: URL\n(without node flags: a SQLite file in $XDG_STATE_HOME/snowfall, default ~/.local/state/snowfall)")
	fs.StringVar(&f.group, "group", "", "the manifest (group of generators) to lease from, with --db")
	fs.DurationVar(&f.probe, "probe", 0, "lease heartbeat interval, with --db (default: the manifest's, 5s for a new one)")
	fs.DurationVar(&f.dbTimeout, "db-timeout", defaultDBTimeout, "how long each start-up step on the database (connect and create tables, claim an id) may take")
	fs.StringVar(&f.stateFile, "state-file", "", "with --generator or --dc/--worker: record a high-water mark in this file, so that a restart never issues at or below it")
	if err := cli.Parse(fs, args, "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	secrets := redact.Secrets(f.db)
	defer func() { err = redact.Error(err, secrets) }()
	if f.port.V < 0 || f.port.V > 65535 {
		return cli.Usagef("serve: %s %d out of range [0, 65535]", cli.FlagName(fs, "SNOWFALL_", sio.Getenv, "port"), f.port.V)
	}
	if f.maxConns.V < 1 || f.maxConns.V > maxConns {
		return cli.Usagef("serve: %s %d out of range [1, %d]", cli.FlagName(fs, "SNOWFALL_", sio.Getenv, "max-conns"), f.maxConns.V, maxConns)
	}
	if err := checkDurations(fs, sio.Getenv,
		durationBound{name: "probe", v: &f.probe, lo: minProbe, hi: maxProbe, zero: true},
		durationBound{name: "clock-offset", v: &f.clockOffset, lo: -maxClockOffset, hi: maxClockOffset},
		durationBound{name: "db-timeout", v: &f.dbTimeout, lo: minDBTimeout, hi: maxDBTimeout},
	); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log, err := server.NewLogger(f.logFormat, sio.Err)
	if err != nil {
		return cli.Usagef("serve: --log-format: %v", err)
	}
	log = slog.New(redact.Handler(log.Handler(), secrets))
	l, err := f.layout.Resolve()
	if err != nil {
		return err
	}
	var clock snowfall.Clock
	if f.clockOffset != 0 {
		log.Warn("clock offset set: for fault-injection tests only", "offset", f.clockOffset)
		clock = snowfall.OffsetClock(f.clockOffset)
	}
	nodeSet := f.layout.Generator.IsSet || f.layout.DC.IsSet || f.layout.Worker.IsSet
	if f.db != "" && nodeSet {
		return cli.Usagef("serve: --db leases the generator id: it excludes --generator, --dc and --worker")
	}
	if f.db == "" && (f.group != "" || f.probe != 0) {
		return cli.Usagef("serve: --group and --probe need --db")
	}
	if f.stateFile != "" && !nodeSet {
		return cli.Usagef("serve: --state-file is for static node values: it needs --generator or --dc and --worker")
	}
	if processLocal(f.db) {
		return cli.Usagef("serve: --db %s keeps leases inside this process, so a second server would lease the same generator id and repeat IDs; "+
			"use --generator N (with --state-file) for a fixed id, or a shared database: the default sqlite:///… file (no --db), postgres:// or mysql://", redact.DSN(f.db))
	}
	if f.db != "" {
		if err := assignurl.Check(f.db, f.group); err != nil {
			return cli.Usagef("serve: --db %s or --group: %v", redact.DSN(f.db), err)
		}
	}
	if f.db == "" && !nodeSet {
		var old bool
		if f.db, old, err = defaultDB(sio.Getenv); err != nil {
			return err
		}
		if old {
			log.Warn("using the lease database at its old default place, under the cache directory, which tools and people wipe: "+
				"move it to the state directory, or pass --db", "db", f.db, "new default", newDefaultDB(sio.Getenv))
		}
		log.Info("no --generator, --dc/--worker or --db: leasing a generator id from the default database", "db", f.db)
	}
	if f.db == "" {
		node, err := f.layout.Node(l)
		if err != nil {
			return err
		}
		if f.stateFile != "" {
			src, err := statefile.Open(statefile.Settings{Path: f.stateFile, Layout: l, Node: node, Clock: clock, Logger: log})
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			defer src.Close()
			return serve(ctx, src, f, log, sio)
		}
		g, err := snowfall.New(snowfall.Settings{Layout: l, Node: node, Clock: clock})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		return serve(ctx, g, f, log, sio)
	}
	say := func(msg string) { log.Info(msg) }
	a, err := openDB(ctx, f.db, f.group, f.dbTimeout, say)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer a.Close()
	ls := snowfall.LeaseSettings{Probe: f.probe, Clock: clock, Logger: log}
	if layoutSet(fs, sio.Getenv) {
		ls.Layout = l // else the manifest's layout
	}
	var leased *snowfall.Leased
	err = dbCall(ctx, "claim a generator id", f.db, f.dbTimeout, say, func(ctx context.Context) error {
		var err error
		leased, err = snowfall.NewLeased(ctx, a, ls) // ctx bounds the first claim only
		return err
	})
	if err != nil {
		return fmt.Errorf("serve: lease from %s: %w", redact.DSN(f.db), err)
	}
	st := leased.Lease()
	log.Info("lease acquired", "db", redact.DSN(f.db), "group", f.group, "generator", st.Generator, "expires", st.Expires)
	err = serve(ctx, leased, f, log, sio)
	if cerr := leased.Close(); cerr != nil {
		log.Warn("lease not released; it expires by itself", "generator", st.Generator, "err", cerr)
	} else {
		log.Info("lease released", "generator", leased.Lease().Generator)
	}
	return err
}

// layoutSet reports whether --layout or --epoch was given, on the command line or in the environment.
func layoutSet(fs *flag.FlagSet, getenv func(string) string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "layout" || f.Name == "epoch" })
	for _, name := range []string{"layout", "epoch"} {
		set = set || (getenv != nil && getenv(cli.EnvName("SNOWFALL_", name)) != "")
	}
	return set
}

// serve runs the HTTP server for src until ctx is done.
func serve(ctx context.Context, src snowfall.Source, f serveFlags, log *slog.Logger, sio cli.IO) error {
	srv, err := server.New(server.Config{Source: src, Logger: log, MaxConns: f.maxConns.V})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	server.WarnLifetime(log, src.Layout(), time.Now())
	ln, err := server.Listen(ctx, f.host, f.port.V)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintf(sio.Out, server.ListenMessage, ln.Addr())
	return srv.Serve(ctx, ln)
}

// processLocal reports whether db names an assigner that lives inside one process (memory, or an
// in-memory SQLite database): leases from it do not keep two servers apart.
func processLocal(db string) bool {
	d := strings.ToLower(strings.TrimSpace(db))
	return d == "memory" || strings.Contains(d, ":memory:") || strings.Contains(d, "mode=memory")
}
