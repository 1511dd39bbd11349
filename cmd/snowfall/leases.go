package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
)

type leasesCmd struct{}

func (leasesCmd) Name() string     { return "leases" }
func (leasesCmd) Synopsis() string { return "list the generator ids held in a database" }

var leasesSpec = cli.Spec{
	Name: "leases",
	Usage: "snowfall leases [--db URL] [--group G] [--db-timeout 10s]\n" +
		"(without --db, the database snowfall serve uses without --db: leases.db in $XDG_STATE_HOME/snowfall, default ~/.local/state/snowfall)\n" +
		"snowfall leases raise-marks -h: raise the high-water marks after a restore or a failover to a replica that lagged",
	EnvPrefix: envPrefix,
}

func (c leasesCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	if len(args) > 0 && args[0] == "raise-marks" {
		return raiseMarks(ctx, args[1:], sio)
	}
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var f cli.DBFlags
	f.Register(fs)
	if err := leasesSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if err := defaultLeasesDB(&f, "leases", sio.Getenv); err != nil {
		return err
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
		// The host is the store's text, which anything with write access to it can have set:
		// one field, every control character escaped (cli.Field).
		fmt.Fprintf(w, "%d\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, cli.Field(r.Holder.Host), r.Holder.PID,
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

// defaultLeasesDB sets --db, when it was not given, to the lease database snowfall serve uses
// without --db and node flags (see defaultDB): the state directory's leases.db, or one at the old
// default place. Unlike serve it creates nothing: when there is no such file, it returns an error
// naming where it looked.
func defaultLeasesDB(f *cli.DBFlags, cmd string, getenv func(string) string) error {
	if f.DB.Given() {
		return nil
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir, err := stateDir(getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, defaultDBName)
	if _, err := os.Stat(path); err != nil {
		if od := oldDefaultDir(getenv); od != "" {
			if st, err := os.Stat(filepath.Join(od, defaultDBName)); err == nil && st.Mode().IsRegular() {
				path = filepath.Join(od, defaultDBName)
			}
		}
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("%s: no --db, and no lease database at %s, where snowfall serve keeps it without --db: %w", cmd, path, err)
	}
	u, err := sqliteURL(path)
	if err != nil {
		return err
	}
	return f.DB.Set(u)
}
