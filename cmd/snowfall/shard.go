package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type shardCmd struct{}

func (shardCmd) Name() string { return "shard" }
func (shardCmd) Synopsis() string {
	return "print the shard of each ID among N (even for every layout; not id % N)"
}

var shardSpec = cli.Spec{
	Name:      "shard",
	Usage:     "snowfall shard --shards N [--layout L] [--epoch E] [ID...]   (IDs from stdin, one per line, when none are given)",
	EnvPrefix: envPrefix,
	Args:      cli.AnyArgs,
}

// Run prints Layout.Shard of each ID, one per line, in the order given. A malformed ID is reported
// on stderr and the command goes on, then exits 1.
func (c shardCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	var n cli.IntFlag
	fs.Var(&n, "shards", fmt.Sprintf("how many shards, 1 to %d", snowfall.MaxShards))
	if err := shardSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	if !cli.Given(fs, envPrefix, sio.Getenv, "shards") {
		return cli.Usagef("shard: --shards is required: how many shards, 1 to %d", snowfall.MaxShards)
	}
	if n.V < 1 || n.V > snowfall.MaxShards {
		return cli.Usagef("shard: %s %d out of range [1, %d]", cli.FlagName(fs, envPrefix, sio.Getenv, "shards"), n.V, snowfall.MaxShards)
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(sio.Out)
	defer w.Flush()
	var bad int
	shard := func(s string) {
		id, err := snowfall.ParseAny(s)
		var k int
		if err == nil {
			k, err = l.Shard(id, n.V)
		}
		if err != nil {
			bad++
			w.Flush()
			fmt.Fprintf(sio.Err, "snowfall: shard: %v\n", err)
			return
		}
		w.WriteString(strconv.Itoa(k))
		w.WriteByte('\n')
	}
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			shard(a)
		}
	} else {
		sc := bufio.NewScanner(sio.In)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				shard(line)
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("shard: reading input: %w", err)
		}
	}
	if bad > 0 {
		return errors.New("shard: " + plural(bad, "malformed ID"))
	}
	return nil
}
