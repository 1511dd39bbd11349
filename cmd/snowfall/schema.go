package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/redact"
)

type schemaCmd struct{}

func (schemaCmd) Name() string     { return "schema" }
func (schemaCmd) Synopsis() string { return "create the lease tables of a database (schema create)" }

func (c schemaCmd) Run(ctx context.Context, args []string, sio cli.IO) (err error) {
	const usage = "snowfall schema create --db URL [--layout L] [--epoch E] [--probe 5s] [--group G] [--db-timeout 10s]"
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
	timeout := fs.Duration("db-timeout", defaultDBTimeout, "how long each step on the database (connect and create tables, record the properties, fill the manifest) may take")
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
	secrets := redact.Secrets(*db)
	defer func() { err = redact.Error(err, secrets) }()
	if err := checkDurations(fs, sio.Getenv,
		durationBound{name: "probe", v: probe, lo: minProbe, hi: maxProbe},
		durationBound{name: "db-timeout", v: timeout, lo: minDBTimeout, hi: maxDBTimeout},
	); err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	if err := assignurl.Check(*db, *group); err != nil {
		return cli.Usagef("schema create: --db or --group: %v", err)
	}
	say := func(msg string) { fmt.Fprintln(sio.Err, "snowfall: "+msg) }
	a, err := openDB(ctx, *db, *group, *timeout, say)
	if err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	defer a.Close()
	var m snowfall.Manifest
	err = dbCall(ctx, "record the properties", *db, *timeout, say, func(ctx context.Context) error {
		var err error
		m, err = snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: l, Probe: *probe})
		return err
	})
	if err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	size := snowfall.PoolSize(m.Layout)
	err = dbCall(ctx, "fill the manifest", *db, *timeout, say, func(ctx context.Context) error { return a.Prepare(ctx, size) })
	if err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	fmt.Fprintf(sio.Out, "%s ready: layout %s, %d generator ids, probe %v\n", assignurl.Describe(a), m.Layout, size, m.Probe)
	return nil
}
