package main

import (
	"context"

	"github.com/snowfall-go/snowfall/internal/cli"
)

// run runs the command of args through the guard every command of the project shares
// (cli.Guarded): nothing it renders shows a password of its input. main runs the same through
// cli.Process, which puts Go's standard logger behind the guard too.
func run(ctx context.Context, args []string, sio cli.IO) error {
	return cli.Guarded(ctx, args, sio, dispatch)
}
