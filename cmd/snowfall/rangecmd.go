package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type rangeCmd struct{}

func (rangeCmd) Name() string { return "range" }
func (rangeCmd) Synopsis() string {
	return "print the lowest and highest ID of a time window, for WHERE id BETWEEN"
}

var rangeSpec = cli.Spec{
	Name:      "range",
	Usage:     "snowfall range [--layout L] [--epoch E] FROM [TO]   (RFC 3339 or Unix ms; TO defaults to FROM; both ticks included)",
	EnvPrefix: envPrefix,
	Args:      2,
}

// Run prints "FIRST LAST": the lowest ID of FROM's tick and the highest of TO's, whatever node
// issued them, so that WHERE id BETWEEN FIRST AND LAST selects every ID made in that window.
func (c rangeCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	if err := rangeSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return cli.Usagef("range: no FROM time given (RFC 3339 or Unix milliseconds)")
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	from, err := snowfall.ParseTime(fs.Arg(0))
	if err != nil {
		return cli.Usagef("range: FROM %v", err)
	}
	to := from
	if fs.NArg() == 2 {
		if to, err = snowfall.ParseTime(fs.Arg(1)); err != nil {
			return cli.Usagef("range: TO %v", err)
		}
	}
	if l.Ticks(to) < l.Ticks(from) {
		return cli.Usagef("range: TO %s is before FROM %s", to.Format(snowfall.TimeFormat), from.Format(snowfall.TimeFormat))
	}
	lo, err := l.FirstID(from)
	if err != nil {
		return cli.Usagef("range: FROM: %v", err)
	}
	hi, err := l.LastID(to)
	if err != nil {
		return cli.Usagef("range: TO: %v", err)
	}
	_, err = fmt.Fprintf(sio.Out, "%d %d\n", lo, hi)
	return err
}
