package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// maxGet bounds snowfall get -n.
const maxGet = 10_000_000

type getCmd struct{}

func (getCmd) Name() string     { return "get" }
func (getCmd) Synopsis() string { return "print new IDs from an ID server" }

var getSpec = cli.Spec{Name: "get", Usage: "snowfall get [--server URL] [-n N] [--timeout D]", EnvPrefix: envPrefix}

func (c getCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	nf := &cli.IntFlag{V: 1}
	fs.Var(nf, "n", "how many IDs to print, 1 to 10000000")
	n := &nf.V
	sf := registerServerFlags(fs, 10*time.Second)
	if err := getSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if *n < 1 || *n > maxGet {
		return cli.Usagef("get: %s %d out of range [1, %d]", nName(fs, sio.Getenv), *n, maxGet)
	}
	cl, err := sf.client("get", sio.Getenv)
	if err != nil {
		return err
	}
	defer cl.Close()
	w := bufio.NewWriter(sio.Out)
	var line []byte
	for left := *n; left > 0; {
		ids, err := cl.NextIDs(ctx, min(left, client.MaxBatch))
		if err != nil {
			w.Flush()
			return fmt.Errorf("get: %w", err)
		}
		for _, id := range ids {
			line = append(strconv.AppendInt(line[:0], int64(id), 10), '\n')
			w.Write(line)
		}
		left -= len(ids)
	}
	return w.Flush()
}
