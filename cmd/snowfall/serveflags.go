package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/internal/server"
)

// serveFlags are the flags of snowfall serve.
type serveFlags struct {
	listen      cli.ListenFlags
	adminAddr   string
	maxConns    cli.IntFlag
	drainDelay  time.Duration
	shutdown    time.Duration
	exitOnStart bool
	layout      cli.LayoutFlags
	logFormat   string
	clockOffset time.Duration
	db          cli.DBFlags
	probe       time.Duration
	stateFile   string
	trustFS     bool
	floor       string
}

// trustFSLocksUsage documents --trust-fs-locks (serve and next).
const trustFSLocksUsage = "with --state-file: open it even on a filesystem not known as local (NFS, SMB, FUSE, 9p, Ceph, …), " +
	"where flock may lock nothing across hosts or nothing at all; you vouch that its locks keep apart every process, on every host, " +
	"that may open the file: if they do not, two servers can keep the file at once and issue the same IDs"

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.listen.Register(fs)
	f.maxConns.V = server.DefaultMaxConns
	fs.Var(&f.maxConns, "max-conns", "most connections served at once; a client arriving when that many are open takes the place of one that does no work (idle longest, else stalled longest on its client, else the oldest that has not sent its request)")
	fs.StringVar(&f.adminAddr, "admin-addr", "", "also serve /livez, /readyz, /healthz, /metrics and /stats on this host:port, with a connection cap of its own (\"\": not at all)")
	fs.DurationVar(&f.drainDelay, "drain-delay", 0, "on SIGTERM or SIGINT, answer /readyz with 503 and keep serving this long before closing the listener, so that load balancers stop routing here first (a second signal ends the delay)")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", server.DefaultShutdownTimeout, "once the listener is closed, how long requests in flight may take to finish")
	fs.BoolVar(&f.exitOnStart, "exit-on-start-failure", false, "with a lease (--db or the default database): exit 1 when the store cannot be reached or no generator id can be claimed at start, instead of serving /livez and retrying")
	f.layout.Register(fs, true)
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.DurationVar(&f.clockOffset, "clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	f.db.Register(fs)
	fs.DurationVar(&f.probe, "probe", 0, "lease heartbeat interval, with --db (default: the manifest's, 5s for a new one)")
	fs.StringVar(&f.stateFile, "state-file", "", "with --generator or --dc/--worker: record a high-water mark in this file, so that a restart never issues at or below it")
	fs.BoolVar(&f.trustFS, "trust-fs-locks", false, trustFSLocksUsage)
	fs.StringVar(&f.floor, "floor", "", floorUsage)
}

// nodeSet reports whether any of --generator, --dc and --worker was given.
func (f *serveFlags) nodeSet() bool {
	return f.layout.Generator.IsSet || f.layout.DC.IsSet || f.layout.Worker.IsSet
}

// checkRanges returns a UsageError naming the first value out of its range.
func (f *serveFlags) checkRanges(fs *flag.FlagSet, getenv func(string) string) error {
	if err := f.listen.Check(fs, envPrefix, getenv); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if f.maxConns.V < 1 || f.maxConns.V > maxConns {
		return cli.Usagef("serve: %s %d out of range [1, %d]", cli.FlagName(fs, envPrefix, getenv, "max-conns"), f.maxConns.V, maxConns)
	}
	if err := checkDurations(fs, getenv,
		durationBound{name: "probe", v: &f.probe, lo: minProbe, hi: maxProbe, zero: true},
		durationBound{name: "clock-offset", v: &f.clockOffset, lo: -maxClockOffset, hi: maxClockOffset},
		durationBound{name: "db-timeout", v: &f.db.Timeout, lo: minDBTimeout, hi: maxDBTimeout},
		durationBound{name: "drain-delay", v: &f.drainDelay, lo: 0, hi: maxDrainDelay},
		durationBound{name: "shutdown-timeout", v: &f.shutdown, lo: minShutdownTimeout, hi: maxShutdownTimeout},
	); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if f.adminAddr != "" {
		if err := checkHostPort(f.adminAddr); err != nil {
			return cli.Usagef("serve: %s %q: %v", cli.FlagName(fs, envPrefix, getenv, "admin-addr"), f.adminAddr, err)
		}
	}
	return nil
}

// checkHostPort returns an error unless addr is host:port with a port in [0, 65535].
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, for example 127.0.0.1:9090")
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 || strings.Trim(port, "0123456789") != "" {
		return errors.New("port out of range [0, 65535]")
	}
	return nil
}

// checkCombination returns a UsageError for flags that do not go together, or a malformed --db.
// Whether the database can keep two servers apart is a property of the database, which opening it
// checks (sqlassign.ErrNotShared).
func (f *serveFlags) checkCombination(fs *flag.FlagSet, getenv func(string) string) error {
	given := f.db.DB.Given()
	switch {
	case given && f.nodeSet():
		return cli.Usagef("serve: --db leases the generator id: it excludes --generator, --dc and --worker")
	case !given && (f.db.Group != "" || f.probe != 0):
		return cli.Usagef("serve: --group and --probe need --db")
	case f.stateFile != "" && !f.nodeSet():
		return cli.Usagef("serve: --state-file is for static node values: it needs --generator or --dc and --worker")
	case f.trustFS && f.stateFile == "":
		return cli.Usagef("serve: %s is about the state file's filesystem: it needs --state-file", cli.FlagName(fs, envPrefix, getenv, "trust-fs-locks"))
	}
	if err := f.db.Check(fs, envPrefix, getenv); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// config checks the flags and returns the configuration of the ID source they ask for. The database
// URL goes on as a redact.URL: messages and logs show it without its password. Without node flags
// and --db, the source leases from the default database (see defaultDB).
func (f *serveFlags) config(fs *flag.FlagSet, sio cli.IO) (idsource.Config, error) {
	var cfg idsource.Config
	if err := f.checkRanges(fs, sio.Getenv); err != nil {
		return cfg, err
	}
	log, err := idsource.NewLogger(f.logFormat, sio.Err)
	if err != nil {
		return cfg, cli.Usagef("serve: --log-format: %v", err)
	}
	f.layout.NameFrom(fs, envPrefix, sio.Getenv)
	l, err := f.layout.Resolve()
	if err != nil {
		return cfg, err
	}
	if err := f.checkCombination(fs, sio.Getenv); err != nil {
		return cfg, err
	}
	cfg = idsource.Config{Layout: l, StateFile: f.stateFile, TrustFSLocks: f.trustFS, ClockOffset: f.clockOffset, Logger: log, ExitOnStartFailure: f.exitOnStart,
		DB: f.db.DB.URL(), Group: f.db.Group, Probe: f.probe, DBTimeout: f.db.Timeout, LayoutSet: layoutSet(fs, sio.Getenv)}
	if cfg.DB.IsZero() && !f.nodeSet() {
		db, old, err := defaultDB(sio.Getenv)
		if err != nil {
			return cfg, err
		}
		if cfg.DB, err = assignurl.Parse(db); err != nil {
			return cfg, fmt.Errorf("serve: default lease database: %w", err)
		}
		cfg.Embedded = true
		if old {
			log.Warn("using the lease database at its old default place, under the cache directory, which tools and people wipe: "+
				"move it to the state directory, or pass --db", "db", cfg.DB, "new default", newDefaultDB(sio.Getenv))
		}
		log.Info("no --generator, --dc/--worker or --db: leasing a generator id from the default database", "db", cfg.DB)
	}
	if cfg.DB.IsZero() {
		if cfg.Node, err = f.layout.Node(l); err != nil {
			return cfg, err
		}
		if f.stateFile == "" {
			log.Warn("static node values without --state-file: a restart with the clock behind the last ID issued can repeat IDs; "+
				"give --state-file PATH to record a high-water mark across restarts", "node", cfg.Node)
		}
	}
	if !cfg.DB.IsZero() && !cfg.LayoutSet && f.floor != "" && floorIsID(f.floor) {
		// The manifest's layout decodes the ID; an ID is decoded under --layout, which NewLeased
		// then checks against the manifest.
		return cfg, cli.Usagef("serve: %s is an ID: give --layout (and --epoch) of the manifest to decode it, or give a time",
			cli.FlagName(fs, envPrefix, sio.Getenv, "floor"))
	}
	cfg.Floor, err = parseFloor(fs, sio.Getenv, f.floor, l, time.Now().Add(f.clockOffset))
	return cfg, err
}

// layoutSet reports whether --layout or --epoch was given, on the command line or in the environment.
func layoutSet(fs *flag.FlagSet, getenv func(string) string) bool {
	return cli.Given(fs, envPrefix, getenv, "layout") || cli.Given(fs, envPrefix, getenv, "epoch")
}
