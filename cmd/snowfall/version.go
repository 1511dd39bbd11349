package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/snowfall-go/snowfall/internal/buildinfo"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type versionCmd struct{}

func (versionCmd) Name() string { return "version" }
func (versionCmd) Synopsis() string {
	return "print the version, VCS revision and Go version (also --version)"
}

func (c versionCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	if err := (cli.Spec{Name: "version", Usage: "snowfall version"}).Parse(fs, args, sio); err != nil {
		return err
	}
	fmt.Fprintln(sio.Out, "snowfall", buildinfo.Read())
	return nil
}
