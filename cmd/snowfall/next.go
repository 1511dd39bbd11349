package main

import (
	"bufio"
	"context"
	"flag"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// maxNext bounds snowfall next -n.
const maxNext = 10_000_000

type nextCmd struct{}

func (nextCmd) Name() string     { return "next" }
func (nextCmd) Synopsis() string { return "print new IDs from a local generator" }

var nextSpec = cli.Spec{Name: "next", Usage: "snowfall next [-n N] [--layout L] [--epoch E] [--generator G | --dc D --worker W] [--floor ID|TIME]", EnvPrefix: envPrefix}

// nName names -n in a message: -n, or SNOWFALL_N when the value came from there.
func nName(fs *flag.FlagSet, getenv func(string) string) string {
	if name := cli.FlagName(fs, envPrefix, getenv, "n"); name != "--n" {
		return name
	}
	return "-n"
}

func (c nextCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	nf := &cli.IntFlag{V: 1}
	fs.Var(nf, "n", "how many IDs to print, 1 to 10000000")
	n := &nf.V
	var lf cli.LayoutFlags
	lf.Register(fs, true)
	floor := fs.String("floor", "", floorUsage)
	if err := nextSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if *n < 1 || *n > maxNext {
		return cli.Usagef("next: %s %d out of range [1, %d]", nName(fs, sio.Getenv), *n, maxNext)
	}
	lf.NameFrom(fs, envPrefix, sio.Getenv)
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	node, err := lf.Node(l)
	if err != nil {
		return err
	}
	after, err := parseFloor(fs, sio.Getenv, *floor, l, time.Now())
	if err != nil {
		return err
	}
	g, err := snowfall.New(snowfall.Settings{Layout: l, Node: node, After: after})
	if err != nil {
		return err
	}
	w := bufio.NewWriter(sio.Out)
	ids := make([]snowfall.ID, min(*n, 4096))
	for left := *n; left > 0; left -= len(ids) {
		ids = ids[:min(left, len(ids))]
		if _, err := g.Fill(ctx, ids); err != nil {
			return err
		}
		for _, id := range ids {
			w.WriteString(id.String())
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}
