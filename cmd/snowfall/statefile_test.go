package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// TestServeStateFile: the first run records a mark for generator 5; a restart with the clock 5 s behind
// refuses to issue below it (503); a corrupt file stops the server from starting; --state-file
// goes with static node values only.
func TestServeStateFile(t *testing.T) {
	cmdtest.CheckStateFile(t, serveCmd{}.Run, []string{"--generator", "5"}, snowfall.Node{Generator: 5})

	path := filepath.Join(t.TempDir(), "state")
	err := serveCmd{}.Run(context.Background(), []string{"--db", "memory", "--state-file", path},
		cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	if code := cli.ExitCode(err); code != cli.ExitUsage {
		t.Errorf("--state-file with --db: exit %d (%v), want %d", code, err, cli.ExitUsage)
	}
}
