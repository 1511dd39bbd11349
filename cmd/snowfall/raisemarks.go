package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

var raiseSpec = cli.Spec{
	Name: "leases raise-marks",
	Usage: "snowfall leases raise-marks --by D [--db URL] [--group G] [--dry-run] [--force] [--db-timeout 10s]\n" +
		"Raises every generator id's high-water mark that is below now + D (this host's clock) to now + D, so that the next\n" +
		"holders start above every ID issued before the store lost writes (a restore of an older copy, a failover to a replica\n" +
		"that lagged). D: at least the group's lease (two probe intervals) plus the largest clock skew between the hosts.\n" +
		"Refuses while ids are held by live leases (stop every server of the group first) unless --force. A mark is never lowered.",
	EnvPrefix: envPrefix,
}

// maxRaiseBy bounds --by: servers wait for their clocks to pass a raised mark.
const maxRaiseBy = 24 * time.Hour

func raiseMarks(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(raiseSpec.Name, flag.ContinueOnError)
	var f cli.DBFlags
	f.Register(fs)
	by := fs.Duration("by", 0, "raise the marks to now plus this, on this host's clock: at least the group's lease plus the largest clock skew (required)")
	dry := fs.Bool("dry-run", false, "change nothing; print the marks a raise would change")
	force := fs.Bool("force", false, "raise the marks of ids held by live leases too")
	if err := raiseSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if !cli.Given(fs, envPrefix, sio.Getenv, "by") {
		return cli.Usagef("leases raise-marks: --by is required: how far past now to raise the marks (the group's lease plus the largest clock skew between hosts)")
	}
	if err := checkDurations(fs, sio.Getenv,
		durationBound{name: "by", v: by, lo: time.Millisecond, hi: maxRaiseBy},
		durationBound{name: "db-timeout", v: &f.Timeout, lo: minDBTimeout, hi: maxDBTimeout},
	); err != nil {
		return fmt.Errorf("leases raise-marks: %w", err)
	}
	if err := defaultLeasesDB(&f, "leases raise-marks", sio.Getenv); err != nil {
		return err
	}
	db := f.DB.URL()
	a, say, err := openStore(ctx, "leases raise-marks", fs, &f, sio)
	if err != nil {
		return err
	}
	defer a.Close()
	mr, ok := a.(snowfall.MarkRaiser)
	if !ok {
		return fmt.Errorf("leases raise-marks: %s cannot raise marks", assignurl.Describe(a))
	}
	var props map[string]string
	err = idsource.DBCall(ctx, "read the manifest", db, f.Timeout, say, func(ctx context.Context) error {
		var err error
		props, err = a.Properties(ctx, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("leases raise-marks: %w", err)
	}
	if props[snowfall.PropLayout] == "" {
		return fmt.Errorf("leases raise-marks: %s records no manifest (is --db or --group wrong?); "+
			"if this copy predates the first server, run snowfall schema create with the servers' layout first", assignurl.Describe(a))
	}
	l, err := snowfall.ParseLayout(props[snowfall.PropLayout])
	if err != nil {
		return fmt.Errorf("leases raise-marks: the manifest's layout %q: %w", props[snowfall.PropLayout], err)
	}
	probe, err := snowfall.ParseProbeMs(props[snowfall.PropProbeMs])
	if err != nil {
		return fmt.Errorf("leases raise-marks: %w", err)
	}
	if lease := 2 * probe; *by < lease {
		return cli.Usagef("leases raise-marks: %s %v is shorter than the group's lease %v (two probe intervals of %v): "+
			"a holder records marks up to a lease ahead of its clock; want at least the lease plus the largest clock skew",
			cli.FlagName(fs, envPrefix, sio.Getenv, "by"), *by, lease, lease/2)
	}
	now := time.Now()
	to := now.Add(*by).Truncate(time.Millisecond)
	req := snowfall.RaiseRequest{Size: snowfall.PoolSize(l), To: to, Force: *force, DryRun: *dry}
	var changes []snowfall.MarkChange
	err = idsource.DBCall(ctx, "raise the marks", db, f.Timeout, say, func(ctx context.Context) error {
		var err error
		changes, err = mr.RaiseMarks(ctx, req)
		return err
	})
	var held *snowfall.HeldError
	if errors.As(err, &held) {
		return fmt.Errorf("leases raise-marks: %w: their holders claimed from the store as it is now, and a tenure that began after the "+
			"store lost writes may already repeat IDs; stop every server of the group (snowfall leases lists the holders) or wait until "+
			"their leases expire, then raise; --force raises held ids too (only right when every holder's tenure began before the loss)", err)
	}
	if err != nil {
		return fmt.Errorf("leases raise-marks: %w", err)
	}
	const tf = "2006-01-02T15:04:05.000Z07:00"
	w := tabwriter.NewWriter(sio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GENERATOR\tOLD MARK\tNEW MARK\tHELD")
	for _, c := range changes {
		old := "-"
		if !c.Old.IsZero() {
			old = c.Old.UTC().Format(tf)
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%v\n", c.ID, old, c.New.UTC().Format(tf), c.Held)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	verb := "raised"
	if *dry {
		verb = "dry run: would raise"
	}
	fmt.Fprintf(sio.Err, "%s %d of %d marks to %s (now + %v on this host's clock) in %s; %d already at or above it\n",
		verb, len(changes), req.Size, to.UTC().Format(tf), *by, assignurl.Describe(a), req.Size-int64(len(changes)))
	return nil
}
