package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall/internal/cli"
)

type statsCmd struct{}

func (statsCmd) Name() string     { return "stats" }
func (statsCmd) Synopsis() string { return "print an ID server's stats (indented JSON)" }

func (c statsCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall stats [--server URL] [--timeout D]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	sf := registerServerFlags(fs)
	if err := cli.Parse(fs, args, "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("stats: unexpected argument %q", fs.Arg(0))
	}
	cl, err := sf.client("stats")
	if err != nil {
		return err
	}
	defer cl.Close()
	st, err := cl.Stats(ctx)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	enc := json.NewEncoder(sio.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(st)
}
