package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

type schemaCmd struct{}

func (schemaCmd) Name() string     { return "schema" }
func (schemaCmd) Synopsis() string { return "create the lease tables of a database (schema create)" }

var schemaSpec = cli.Spec{
	Name:      "schema create",
	Usage:     "snowfall schema create --db URL [--layout L] [--epoch E] [--probe 5s] [--group G] [--db-timeout 10s]",
	EnvPrefix: envPrefix,
}

func (c schemaCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		args = []string{"create", "-h"} // the only subcommand's flags
	}
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(sio.Err, "usage: %s\n", schemaSpec.Usage)
		if len(args) == 0 {
			return cli.Usagef("schema: missing subcommand create")
		}
		return cli.Usagef("schema: unknown subcommand %q (want create)", args[0])
	}
	fs := flag.NewFlagSet(schemaSpec.Name, flag.ContinueOnError)
	var f cli.DBFlags
	f.Register(fs)
	probe := fs.Duration("probe", snowfall.DefaultProbe, "heartbeat interval recorded for the group; leases last two")
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	if err := schemaSpec.Parse(fs, args[1:], sio); err != nil {
		return err
	}
	if !f.DB.Given() {
		return cli.Usagef("schema create: --db is required")
	}
	db := f.DB.URL()
	if err := checkDurations(fs, sio.Getenv,
		durationBound{name: "probe", v: probe, lo: minProbe, hi: maxProbe},
		durationBound{name: "db-timeout", v: &f.Timeout, lo: minDBTimeout, hi: maxDBTimeout},
	); err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	lf.NameFrom(fs, envPrefix, sio.Getenv)
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	a, say, err := openStore(ctx, "schema create", fs, &f, sio)
	if err != nil {
		return err
	}
	defer a.Close()
	// ReadManifest records the probe asked for only when the group has none, and returns the
	// one asked for, not the recorded one: a second read, asking for none, returns what the
	// manifest records, which is what this command reports. A --probe the manifest does not
	// record is refused, never claimed.
	probeGiven := cli.Given(fs, envPrefix, sio.Getenv, "probe")
	var m snowfall.Manifest
	err = idsource.DBCall(ctx, "record the properties", db, f.Timeout, say, func(ctx context.Context) error {
		var err error
		if m, err = snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: l, Probe: *probe}); err != nil {
			return err
		}
		recorded, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{Layout: l})
		m.Probe = recorded.Probe
		return err
	})
	if err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	if probeGiven && m.Probe != *probe {
		return fmt.Errorf("schema create: the group's manifest records probe %v; %s %v was not recorded (schema create sets the probe of a new group only)",
			m.Probe, cli.FlagName(fs, envPrefix, sio.Getenv, "probe"), *probe)
	}
	size := snowfall.PoolSize(m.Layout)
	err = idsource.DBCall(ctx, "fill the manifest", db, f.Timeout, say, func(ctx context.Context) error { return a.Prepare(ctx, size) })
	if err != nil {
		return fmt.Errorf("schema create: %w", err)
	}
	fmt.Fprintf(sio.Out, "%s ready: layout %s, %d generator ids, probe %v\n", assignurl.Describe(a), m.Layout, size, m.Probe)
	return nil
}
