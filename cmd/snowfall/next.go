package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/statefile"
)

// maxNext bounds snowfall next -n.
const maxNext = 10_000_000

type nextCmd struct{}

func (nextCmd) Name() string { return "next" }
func (nextCmd) Synopsis() string {
	return "print new IDs from a generator kept by a state file or a lease"
}

var nextSpec = cli.Spec{Name: "next", Usage: "snowfall next [-n N] [--layout L] [--epoch E] ((--generator G | --dc D --worker W) --state-file PATH [--trust-fs-locks] | --db URL [--group G] [--db-timeout D]) [--floor ID|TIME]", EnvPrefix: envPrefix}

// nName names -n in a message: -n, or SNOWFALL_N when the value came from there.
func nName(fs *flag.FlagSet, getenv func(string) string) string {
	if name := cli.FlagName(fs, envPrefix, getenv, "n"); name != "--n" {
		return name
	}
	return "-n"
}

// Run prints new IDs. Like serve, it issues only under a guard that keeps it apart from every
// other process: a state file it locks (node values) or a generator id it leases (--db) and
// releases at the end. Node values alone (no state file) are refused: two runs of next, or next
// beside a server with the same values, could issue the same IDs.
func (c nextCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	nf := &cli.IntFlag{V: 1}
	fs.Var(nf, "n", "how many IDs to print, 1 to 10000000")
	n := &nf.V
	var lf cli.LayoutFlags
	lf.Register(fs, true)
	floor := fs.String("floor", "", floorUsage)
	stateFile := fs.String("state-file", "", "with --generator or --dc/--worker: the state file that keeps this generator apart from other processes (its lock) and above the IDs issued before (its mark); a server may use the same file once next has ended")
	trust := fs.Bool("trust-fs-locks", false, trustFSLocksUsage)
	var db cli.DBFlags
	db.Register(fs)
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
	nodeSet := lf.Generator.IsSet || lf.DC.IsSet || lf.Worker.IsSet
	node, err := lf.Node(l)
	if err != nil {
		return err
	}
	after, err := parseFloor(fs, sio.Getenv, *floor, l, time.Now())
	if err != nil {
		return err
	}
	given := db.DB.Given()
	switch {
	case given && nodeSet:
		return cli.Usagef("next: --db leases the generator id: it excludes --generator, --dc and --worker")
	case given && *stateFile != "":
		return cli.Usagef("next: --state-file is for static node values: it excludes --db")
	case !given && (db.Group != "" || cli.Given(fs, envPrefix, sio.Getenv, "db-timeout")):
		return cli.Usagef("next: --group and --db-timeout need --db")
	case !given && *stateFile == "":
		return cli.Usagef("next: give --generator (or --dc and --worker) with --state-file PATH, or --db URL: " +
			"without a state file or a lease, two runs of next (or next beside a server) can issue the same IDs")
	case !given && !nodeSet:
		return cli.Usagef("next: --state-file is for static node values: it needs --generator or --dc and --worker")
	case *trust && *stateFile == "":
		return cli.Usagef("next: %s is about the state file's filesystem: it needs --state-file", cli.FlagName(fs, envPrefix, sio.Getenv, "trust-fs-locks"))
	}
	if err := db.Check(fs, envPrefix, sio.Getenv); err != nil {
		return fmt.Errorf("next: %w", err)
	}
	cfg := idsource.Config{Layout: l, LayoutSet: layoutSet(fs, sio.Getenv), Node: node, StateFile: *stateFile,
		TrustFSLocks: *trust, DB: db.DB.URL(), Group: db.Group, DBTimeout: db.Timeout, ExitOnStartFailure: true, Floor: after,
		Logger: slog.New(slog.NewTextHandler(sio.Err, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	src, err := idsource.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("next: %w", err)
	}
	defer src.Close()
	w := bufio.NewWriter(sio.Out)
	ids := make([]snowfall.ID, min(*n, 4096))
	for left := *n; left > 0; left -= len(ids) {
		ids = ids[:min(left, len(ids))]
		if err := fill(ctx, src, ids); err != nil {
			return fmt.Errorf("next: %w", err)
		}
		for _, id := range ids {
			w.WriteString(id.String())
			w.WriteByte('\n')
		}
	}
	return w.Flush()
}

// fill fills ids, waiting (within a bound) while the source cannot issue yet: a state file's
// source waits statefile.StartWait before its first ID.
func fill(ctx context.Context, src *idsource.Source, ids []snowfall.ID) error {
	ctx, cancel := context.WithTimeout(ctx, nextWait)
	defer cancel()
	done := 0
	for {
		k, err := src.Fill(ctx, ids[done:])
		done += k
		if done == len(ids) {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d IDs issued in %v: %w", done, len(ids), nextWait, err)
		}
		if err != nil && !retryable(err) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// nextWait bounds how long next waits for its source to issue a batch.
const nextWait = 30 * time.Second

// retryable reports whether a source that could not issue may issue soon: a clock behind its
// floor, a fence until the next mark or claim. A state file whose path names another file now
// (statefile.ErrMoved) never issues again.
func retryable(err error) bool {
	if errors.Is(err, statefile.ErrMoved) {
		return false
	}
	return errors.Is(err, snowfall.ErrClockBackwards) || errors.Is(err, snowfall.ErrFenced) || errors.Is(err, snowfall.ErrWouldWait)
}
