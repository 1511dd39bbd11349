package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/snowfall-go/snowfall/internal/cli"
)

type statsCmd struct{}

func (statsCmd) Name() string     { return "stats" }
func (statsCmd) Synopsis() string { return "print an ID server's stats (indented JSON)" }

var statsSpec = cli.Spec{Name: "stats", Usage: "snowfall stats [--server URL] [--timeout D]", EnvPrefix: envPrefix}

func (c statsCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	sf := registerServerFlags(fs, 10*time.Second)
	if err := statsSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	cl, err := sf.client("stats", sio.Getenv)
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
