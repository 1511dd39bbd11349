package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type schemaCmd struct{}

func (schemaCmd) Name() string     { return "schema" }
func (schemaCmd) Synopsis() string { return "create the lease tables of a database (schema create)" }

func (c schemaCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall schema create --db URL [--layout L] [--epoch E] [--probe 5s] [--group G]"
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args = []string{"create", "-h"} // the only subcommand's flags
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(sio.Err, "usage: %s\n", usage)
		if len(args) == 0 {
			return cli.Usagef("schema: missing subcommand create")
		}
		return cli.Usagef("schema: unknown subcommand %q (want create)", args[0])
	}
	fs := flag.NewFlagSet("schema create", flag.ContinueOnError)
	db := fs.String("db", "", "database URL: sqlite:///path, postgres://…, mysql://user:pass@host:port/db, etcd://host:port[,…]/prefix")
	group := fs.String("group", "", "group name: tables snowfall_<group>_properties and snowfall_<group>_manifest")
	probe := fs.Duration("probe", snowfall.DefaultProbe, "heartbeat interval recorded for the group; leases last two")
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	if err := cli.Parse(fs, args[1:], "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("schema create: unexpected argument %q", fs.Arg(0))
	}
	if *db == "" {
		return cli.Usagef("schema create: --db is required")
	}
	if *probe < 10*time.Millisecond {
		return cli.Usagef("schema create: --probe %v is below 10ms", *probe)
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	if err := assignurl.Check(*db, *group); err != nil {
		return cli.Usagef("schema create: --db or --group: %v", err)
	}
	a, err := assignurl.Open(ctx, *db, *group)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: l, Probe: *probe})
	if err != nil {
		return err
	}
	size := snowfall.PoolSize(m.Layout)
	if err := a.Prepare(ctx, size); err != nil {
		return err
	}
	fmt.Fprintf(sio.Out, "%s ready: layout %s, %d generator ids, probe %v\n", assignurl.Describe(a), m.Layout, size, m.Probe)
	return nil
}
