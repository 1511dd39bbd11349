package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/redact"
)

type leasesCmd struct{}

func (leasesCmd) Name() string     { return "leases" }
func (leasesCmd) Synopsis() string { return "list the generator ids held in a database" }

func (c leasesCmd) Run(ctx context.Context, args []string, sio cli.IO) (err error) {
	const usage = "snowfall leases --db URL [--group G] [--db-timeout 10s]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	db := fs.String("db", "", "database URL: sqlite:///path, postgres://…, mysql://user:pass@host:port/db, etcd://host:port[,…]/prefix")
	group := fs.String("group", "", "group name")
	timeout := fs.Duration("db-timeout", defaultDBTimeout, "how long each step on the database (connect, list the leases) may take")
	if err := cli.Parse(fs, args, "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("leases: unexpected argument %q", fs.Arg(0))
	}
	if *db == "" {
		return cli.Usagef("leases: --db is required")
	}
	secrets := redact.Secrets(*db)
	defer func() { err = redact.Error(err, secrets) }()
	if err := checkDurations(fs, sio.Getenv, durationBound{name: "db-timeout", v: timeout, lo: minDBTimeout, hi: maxDBTimeout}); err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	if err := assignurl.Check(*db, *group); err != nil {
		return cli.Usagef("leases: --db or --group: %v", err)
	}
	say := func(msg string) { fmt.Fprintln(sio.Err, "snowfall: "+msg) }
	a, err := openDB(ctx, *db, *group, *timeout, say)
	if err != nil {
		return fmt.Errorf("leases: %w", err)
	}
	defer a.Close()
	var recs []snowfall.LeaseRecord
	err = dbCall(ctx, "list the leases", *db, *timeout, say, func(ctx context.Context) error {
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
