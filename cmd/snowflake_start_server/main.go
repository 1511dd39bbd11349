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
	"strings"
	"syscall"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/buildinfo"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/statefile"
)

const name = "snowflake_start_server"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], cli.StdIO())
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
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number in [0, %d]", s, f.max)
	}
	if v < 0 || v > f.max {
		return fmt.Errorf("%d out of range [0, %d]", v, f.max)
	}
	f.v = v
	return nil
}

// envNames are the only flags the environment can set, as in pysnowflake.
var envNames = map[string]bool{"PSF_DC": true, "PSF_WORKER": true}

func run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = name + " [--dc=DC_ID] [--worker=WORKER_ID] [--host=ADDRESS | --address=ADDRESS] [--port=PORT] [--state-file=PATH] [--version]"
	l, err := snowfall.Preset(snowfall.PresetPysnowflake)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	dc := &rangeFlag{max: l.Max(snowfall.FieldDC)}
	worker := &rangeFlag{max: l.Max(snowfall.FieldWorker)}
	fs.Var(dc, "dc", "datacenter id, 0..15 (env PSF_DC)")
	fs.Var(worker, "worker", "worker id, 0..255 (env PSF_WORKER)")
	host := fs.String("host", "localhost", "address to listen on")
	port := fs.Int("port", 8910, "port to listen on, 0 for any free port")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	clockOffset := fs.Duration("clock-offset", 0, "shift the generator's clock by this much: for fault-injection tests only")
	stateFile := fs.String("state-file", "", "record a high-water mark in this file, so that a restart never issues at or below it")
	version := fs.Bool("version", false, "print the version, VCS revision and Go version, and exit")
	var tf tornadoFlags
	tf.register(fs, host)
	getenv := func(k string) string {
		if envNames[k] && sio.Getenv != nil {
			return sio.Getenv(k)
		}
		return ""
	}
	if err := cli.Parse(fs, tornadoArgs(args), "PSF_", getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("unexpected argument %q", fs.Arg(0))
	}
	if *version {
		fmt.Fprintln(sio.Out, name, buildinfo.Read())
		return nil
	}
	if *port < 0 || *port > 65535 {
		return cli.Usagef("--port %d out of range [0, 65535]", *port)
	}
	if err := tf.check(fs); err != nil {
		return err
	}
	log, closeLog, err := tf.logger(*logFormat, sio.Err)
	if err != nil {
		return err
	}
	defer closeLog()
	var clock snowfall.Clock
	if *clockOffset != 0 {
		log.Warn("clock offset set: for fault-injection tests only", "offset", *clockOffset)
		clock = snowfall.OffsetClock(*clockOffset)
	}
	node := snowfall.Node{DC: dc.v, Worker: worker.v}
	var src snowfall.Source
	if *stateFile != "" {
		sf, err := statefile.Open(statefile.Settings{Path: *stateFile, Layout: l, Node: node, Clock: clock, Logger: log})
		if err != nil {
			return err
		}
		defer sf.Close()
		src = sf
	} else {
		g, err := snowfall.New(snowfall.Settings{Layout: l, Node: node, Clock: clock})
		if err != nil {
			return err
		}
		src = g
	}
	srv, err := server.New(server.Config{Source: src, Logger: log})
	if err != nil {
		return err
	}
	server.WarnLifetime(log, l, time.Now())
	ln, err := server.Listen(ctx, *host, *port)
	if err != nil {
		return err
	}
	fmt.Fprintf(sio.Out, server.ListenMessage, ln.Addr())
	log.Info("pysnowflake-compatible server", "dc", dc.v, "worker", worker.v)
	return srv.Serve(ctx, ln)
}
