package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type leasesCmd struct{}

func (leasesCmd) Name() string     { return "leases" }
func (leasesCmd) Synopsis() string { return "list the generator ids held in a database" }

func (c leasesCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall leases --db URL [--group G]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	db := fs.String("db", "", "database URL: sqlite:///path, postgres://…, mysql://user:pass@host:port/db, etcd://host:port[,…]/prefix")
	group := fs.String("group", "", "group name")
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
	if err := assignurl.Check(*db, *group); err != nil {
		return cli.Usagef("leases: --db or --group: %v", err)
	}
	a, err := assignurl.Open(ctx, *db, *group)
	if err != nil {
		return err
	}
	defer a.Close()
	recs, err := a.Leases(ctx)
	if err != nil {
		return err
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
