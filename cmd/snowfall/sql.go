package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/sqlfunc"
)

type sqlCmd struct{}

func (sqlCmd) Name() string { return "sql" }
func (sqlCmd) Synopsis() string {
	return "print SQL functions that decode IDs and compute shards, for PostgreSQL or MySQL/MariaDB"
}

var sqlSpec = cli.Spec{
	Name:      "sql",
	Usage:     "snowfall sql --dialect postgres|mysql [--layout L] [--epoch E] [--prefix snowfall_]",
	EnvPrefix: envPrefix,
}

// Run prints the SQL of sqlfunc.Generate for the layout.
func (c sqlCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	dialect := fs.String("dialect", "", "SQL dialect: "+strings.Join(sqlfunc.Dialects(), " or ")+" (mysql also for MariaDB)")
	prefix := fs.String("prefix", sqlfunc.DefaultPrefix, "start of every function's name")
	if err := sqlSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	switch *dialect {
	case sqlfunc.Postgres, sqlfunc.MySQL:
	case "":
		return cli.Usagef("sql: --dialect is required: %s", strings.Join(sqlfunc.Dialects(), " or "))
	default:
		return cli.Usagef("sql: %s %q: want %s", cli.FlagName(fs, envPrefix, sio.Getenv, "dialect"), *dialect, strings.Join(sqlfunc.Dialects(), " or "))
	}
	if err := sqlfunc.CheckPrefix(*prefix); err != nil {
		return cli.Usagef("sql: %s: %v", cli.FlagName(fs, envPrefix, sio.Getenv, "prefix"), err)
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	s, err := sqlfunc.Generate(l, *dialect, *prefix)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(sio.Out, s)
	return err
}
