// Command snowfall issues, decodes and serves Snowfall IDs and manages generator-id leases.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/snowfall-go/snowfall/internal/cli"
)

// envPrefix starts the environment variables that stand for flags: SNOWFALL_DB for --db.
const envPrefix = "SNOWFALL_"

// commands lists the subcommands in the order usage shows them.
func commands() []cli.Command {
	return []cli.Command{
		nextCmd{},
		decodeCmd{},
		shardCmd{},
		rangeCmd{},
		sqlCmd{},
		serveCmd{},
		getCmd{},
		statsCmd{},
		schemaCmd{},
		leasesCmd{},
		probeCmd{},
		versionCmd{},
	}
}

func main() {
	ctx, stop := signalContext()
	// run's guard, with Go's standard logger behind it too (net/http's own log lines).
	err := cli.Process(ctx, os.Args[1:], cli.StdIO(), dispatch)
	stop()
	os.Exit(report(err, cli.StdIO()))
}

func report(err error, sio cli.IO) int {
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		msg := err.Error()
		if !strings.HasPrefix(msg, "snowfall") {
			msg = "snowfall: " + msg
		}
		fmt.Fprintln(sio.Err, msg)
	}
	return cli.ExitCode(err)
}

// dispatch runs the command of args (see run, which renders its output and error).
func dispatch(ctx context.Context, args []string, sio cli.IO) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(sio)
		if len(args) == 0 {
			return cli.Usagef("no command given")
		}
		return flag.ErrHelp
	}
	if args[0] == "--version" || args[0] == "-version" {
		return versionCmd{}.Run(ctx, args[1:], sio)
	}
	for _, c := range commands() {
		if c.Name() == args[0] {
			return c.Run(ctx, args[1:], sio)
		}
	}
	usage(sio)
	return cli.Usagef("unknown command %q", args[0])
}

func usage(sio cli.IO) {
	fmt.Fprintln(sio.Err, "usage: snowfall <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(sio.Err, "  %-8s %s\n", c.Name(), c.Synopsis())
	}
	fmt.Fprintln(sio.Err, "\nRun 'snowfall <command> -h' for a command's flags.")
}
