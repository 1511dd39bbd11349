package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/memassign"
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
	port        int
	layout      cli.LayoutFlags
	logFormat   string
	clockOffset time.Duration
	db          string
	group       string
	probe       time.Duration
	stateFile   string
}

func (c serveCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall serve [--host H] [--port P] [--layout L] [--epoch E] [--generator G | --dc D --worker W | --db URL [--group G] [--probe D]] [--state-file PATH]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f serveFlags
	fs.StringVar(&f.host, "host", "localhost", "address to listen on")
	fs.IntVar(&f.port, "port", defaultPort, "port to listen on, 0 for any free port")
	f.layout.Register(fs, true)
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&f.clockOffset, "clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	fs.StringVar(&f.db, "db", "", "lease the generator id from this assigner: memory, or a sqlite:, postgres:, mysql: or etcd: URL\n(without node flags: a SQLite file in $XDG_STATE_HOME/snowfall or the user cache directory)")
	fs.StringVar(&f.group, "group", "", "the manifest (group of generators) to lease from, with --db")
	fs.DurationVar(&f.probe, "probe", 0, "lease heartbeat interval, with --db (default: the manifest's, 5s for a new one)")
	fs.StringVar(&f.stateFile, "state-file", "", "with --generator or --dc/--worker: record a high-water mark in this file, so that a restart never issues at or below it")
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
	if f.probe < 0 {
		return cli.Usagef("serve: --probe %v is negative", f.probe)
	}
	if f.db != "" && f.db != "memory" {
		if err := assignurl.Check(f.db, f.group); err != nil {
			return cli.Usagef("serve: --db %s or --group: %v", redact(f.db), err)
		}
	}
	if f.db == "" && !nodeSet {
		if f.db, err = defaultDB(sio.Getenv); err != nil {
			return err
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
			return serve(ctx, src, f.host, f.port, log, sio)
		}
		g, err := snowfall.New(snowfall.Settings{Layout: l, Node: node, Clock: clock})
		if err != nil {
			return fmt.Errorf("serve: %w", err)
		}
		return serve(ctx, g, f.host, f.port, log, sio)
	}
	a, closeDB, err := openAssigner(ctx, f.db, f.group)
	if err != nil {
		return err
	}
	defer closeDB()
	ls := snowfall.LeaseSettings{Probe: f.probe, Clock: clock, Logger: log}
	if layoutSet(fs, sio.Getenv) {
		ls.Layout = l // else the manifest's layout
	}
	leased, err := snowfall.NewLeased(ctx, a, ls)
	if err != nil {
		return fmt.Errorf("serve: lease from %s: %w", redact(f.db), err)
	}
	st := leased.Lease()
	log.Info("lease acquired", "db", redact(f.db), "group", f.group, "generator", st.Generator, "expires", st.Expires)
	err = serve(ctx, leased, f.host, f.port, log, sio)
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

// openAssigner opens the assigner named by --db and returns it with a function that closes it.
func openAssigner(ctx context.Context, db, group string) (snowfall.Assigner, func(), error) {
	if db == "memory" {
		return memassign.New(nil), func() {}, nil
	}
	a, err := assignurl.Open(ctx, db, group)
	if err != nil {
		return nil, nil, fmt.Errorf("serve: --db %s: %w", redact(db), err)
	}
	return a, func() { a.Close() }, nil
}

// defaultDB returns the assigner URL snowfall serve uses without node flags and without --db: a
// SQLite file in $XDG_STATE_HOME/snowfall, or else in the user's cache directory, so that the
// processes of one user share a manifest and never serve the same generator id at once.
func defaultDB(getenv func(string) string) (string, error) {
	dir := ""
	if getenv != nil {
		dir = getenv("XDG_STATE_HOME")
	}
	if dir == "" {
		var err error
		if dir, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("serve: no state directory for the default lease database (set XDG_STATE_HOME or use --db): %w", err)
		}
	}
	dir = filepath.Join(dir, "snowfall")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("serve: default lease database: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, "leases.db"))
	if err != nil {
		return "", fmt.Errorf("serve: default lease database: %w", err)
	}
	return "sqlite://" + filepath.ToSlash(path), nil
}

// redact hides the password of a database URL for logs and messages.
func redact(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	return u.Redacted()
}
