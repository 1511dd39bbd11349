// Command snowflake_start_server is a drop-in for the server of the Python pysnowflake package: it
// serves IDs of the pysnowflake layout (41 bits time since 1987-06-10, 4 bits dc, 8 bits worker,
// 10 bits sequence) over HTTP, on the same port and with the same answers to GET / and GET /stats.
//
//	snowflake_start_server [--dc=DC_ID] [--worker=WORKER_ID] [--host=ADDRESS | --address=ADDRESS] [--port=PORT]
//
// The dc comes from --dc, else the environment variable PSF_DC, else 0 (0..15); the worker from
// --worker, else PSF_WORKER, else 0 (0..255). A value out of range or not a number exits 2. The
// server also answers /ids, /decode/{id}, /metrics and /healthz like snowfall serve. SIGINT and
// SIGTERM stop it gracefully (exit 0).
//
// pysnowflake's Tornado options are accepted too: --address (pysnowflake's own name for --host),
// --debug, --logging=LEVEL, --log_file_prefix=PATH, --log_to_stderr and the log rotation options
// (accepted, not applied); --num_processes above 1 is refused, because several processes with one
// worker id repeat IDs. '_' and '-' in option names are alike, as in Tornado. --version prints the
// build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/buildinfo"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

const name = "snowflake_start_server"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// run's guard, with Go's standard logger behind it too (net/http's own log lines).
	err := cli.Process(ctx, os.Args[1:], cli.StdIO(), serve)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, name+": "+err.Error())
	}
	os.Exit(cli.ExitCode(err))
}

// rangeFlag is a whole-number flag with a range, named in every error.
type rangeFlag struct {
	v, max int64
}

func (f *rangeFlag) String() string { return strconv.FormatInt(f.v, 10) }

func (f *rangeFlag) Set(s string) error {
	v, err := cli.ParseDecimal(s)
	if err != nil {
		return fmt.Errorf("%s is not a whole number in [0, %d]", cli.Quoted(s), f.max)
	}
	if v < 0 || v > f.max {
		return fmt.Errorf("%d out of range [0, %d]", v, f.max)
	}
	f.v = v
	return nil
}

// envNames are the only flags the environment can set, as in pysnowflake.
var envNames = map[string]bool{"PSF_DC": true, "PSF_WORKER": true}

// spec is the command line: Tornado-style options (see tornadoArgs), and no arguments.
var spec = cli.Spec{
	Usage:     name + " [--dc=DC_ID] [--worker=WORKER_ID] [--host=ADDRESS | --address=ADDRESS] [--port=PORT] [--state-file=PATH [--trust-fs-locks]] [--version]",
	EnvPrefix: "PSF_",
}

// run runs the command through the guard every command of the project shares (cli.Guarded):
// nothing it prints, logs or returns shows a password of its input (its arguments, PSF_DC,
// PSF_WORKER). main runs the same through cli.Process, which puts Go's standard logger behind the
// guard too.
func run(ctx context.Context, args []string, sio cli.IO) error {
	return cli.Guarded(ctx, args, sio, serve)
}

func serve(ctx context.Context, args []string, sio cli.IO) error {
	l, err := snowfall.Preset(snowfall.PresetPysnowflake)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dc := &rangeFlag{max: l.Max(snowfall.FieldDC)}
	worker := &rangeFlag{max: l.Max(snowfall.FieldWorker)}
	fs.Var(dc, "dc", "datacenter id, 0..15 (env PSF_DC)")
	fs.Var(worker, "worker", "worker id, 0..255 (env PSF_WORKER)")
	var listen cli.ListenFlags
	listen.Register(fs)
	logFormat := fs.String("log-format", "text", "log format: text or json")
	clockOffset := fs.Duration("clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	stateFile := fs.String("state-file", "", "record a high-water mark in this file, so that a restart never issues at or below it")
	trustFS := fs.Bool("trust-fs-locks", false, "with --state-file: open it even on a filesystem not known as local (NFS, SMB, FUSE, 9p, Ceph, …), "+
		"where flock may lock nothing across hosts or nothing at all; you vouch that its locks keep apart every process that may open the file")
	version := fs.Bool("version", false, "print the version, VCS revision and Go version, and exit")
	var tf tornadoFlags
	tf.register(fs, &listen.Host)
	psf := sio
	psf.Getenv = func(k string) string {
		if envNames[k] && sio.Getenv != nil {
			return sio.Getenv(k)
		}
		return ""
	}
	if err := spec.Parse(fs, tornadoArgs(args), psf); err != nil {
		return err
	}
	if *version {
		fmt.Fprintln(sio.Out, name, buildinfo.Read())
		return nil
	}
	if err := listen.Check(fs, spec.EnvPrefix, psf.Getenv); err != nil {
		return err
	}
	if *clockOffset < -cli.MaxClockOffset || *clockOffset > cli.MaxClockOffset {
		// serve's bounds: an offset beyond a day is no clock fault to inject, and the generator
		// would refuse it later in words that do not name the flag.
		return cli.Usagef("--clock-offset %v out of range [%v, %v]", *clockOffset, -cli.MaxClockOffset, cli.MaxClockOffset)
	}
	if err := tf.check(fs); err != nil {
		return err
	}
	if *trustFS && *stateFile == "" {
		return cli.Usagef("--trust-fs-locks is about the state file's filesystem: it needs --state-file")
	}
	log, closeLog, err := tf.logger(*logFormat, sio.Err, sio.Guard)
	if err != nil {
		return err
	}
	defer closeLog()
	src, err := idsource.Open(ctx, idsource.Config{Layout: l, Node: snowfall.Node{DC: dc.v, Worker: worker.v},
		StateFile: *stateFile, TrustFSLocks: *trustFS, ClockOffset: *clockOffset, Logger: log})
	if err != nil {
		return err
	}
	defer src.Close()
	ln, err := idsource.Listen(ctx, src, idsource.ListenConfig{Host: listen.Host, Port: listen.Port.V, Out: sio.Out})
	if err != nil {
		return err
	}
	log.Info("pysnowflake-compatible server", "dc", dc.v, "worker", worker.v)
	return ln.Serve(ctx)
}
