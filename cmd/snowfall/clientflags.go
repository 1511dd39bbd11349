package main

import (
	"errors"
	"flag"
	"time"

	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// serverFlags are the flags of the commands that talk to an ID server: get, stats and probe.
type serverFlags struct {
	server  string
	timeout time.Duration
}

// registerServerFlags adds --server and --timeout, with timeout as the default of --timeout.
func registerServerFlags(fs *flag.FlagSet, timeout time.Duration) *serverFlags {
	sf := &serverFlags{}
	fs.StringVar(&sf.server, "server", client.DefaultServer, "the ID server's base URL")
	fs.DurationVar(&sf.timeout, "timeout", timeout, "how long each request may take")
	return sf
}

// client returns a client for the chosen server; a bad URL or timeout is a usage error.
func (sf *serverFlags) client(cmd string) (*client.Client, error) {
	if sf.timeout < time.Millisecond || sf.timeout > 10*time.Minute {
		return nil, cli.Usagef("%s: --timeout %v out of range [1ms, 10m0s] (or SNOWFALL_TIMEOUT)", cmd, sf.timeout)
	}
	c, err := client.New(sf.server, client.WithTimeout(sf.timeout))
	if errors.Is(err, client.ErrInvalidURL) || errors.Is(err, client.ErrInvalidOption) {
		return nil, cli.Usagef("%s: --server or --timeout: %w", cmd, err)
	}
	return c, err
}
