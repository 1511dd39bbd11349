package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

type leasesCmd struct{}

func (leasesCmd) Name() string     { return "leases" }
func (leasesCmd) Synopsis() string { return "list the generator ids held in a database" }

var leasesSpec = cli.Spec{Name: "leases", Usage: "snowfall leases --db URL [--group G] [--db-timeout 10s]", EnvPrefix: envPrefix}

func (c leasesCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f cli.DBFlags
	f.Register(fs)
	if err := leasesSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if !f.DB.Given() {
		return cli.Usagef("leases: --db is required")
	}
	db := f.DB.URL()
	if err := checkDurations(fs, sio.Getenv, durationBound{name: "db-timeout", v: &f.Timeout, lo: minDBTimeout, hi: maxDBTimeout}); err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	a, say, err := openStore(ctx, "leases", fs, &f, sio)
	if err != nil {
		return err
	}
	defer a.Close()
	var recs []snowfall.LeaseRecord
	err = idsource.DBCall(ctx, "list the leases", db, f.Timeout, say, func(ctx context.Context) error {
		var err error
		recs, err = a.Leases(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	const tf = "2006-01-02T15:04:05.000Z07:00"
	w := tabwriter.NewWriter(sio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GENERATOR\tHOST\tPID\tCLAIMED\tLAST HEARTBEAT\tEXPIRES\tHIGH-WATER MARK")
	for _, r := range recs {
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.Holder.Host, r.Holder.PID,
			r.Claimed.UTC().Format(tf), r.Renewed.UTC().Format(tf), r.Expires.UTC().Format(tf), r.Mark.UTC().Format(tf))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(sio.Err, "%d generator ids held\n", len(recs))
	return nil
}

// openStore opens the lease database of --db and --group for command cmd (leases, schema create),
// within --db-timeout; say, which it returns for the next steps, tells on stderr what a slow step
// waits for. A bad URL or group is a UsageError.
func openStore(ctx context.Context, cmd string, fs *flag.FlagSet, f *cli.DBFlags, sio cli.IO) (assignurl.Store, func(string), error) {
	if err := f.Check(fs, envPrefix, sio.Getenv); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	say := func(msg string) { fmt.Fprintln(sio.Err, "snowfall: "+msg) }
	a, err := idsource.OpenDB(ctx, f.DB.URL(), f.Group, f.Timeout, say)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return a, say, nil
}
