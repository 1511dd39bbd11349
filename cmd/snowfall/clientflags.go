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
	fs      *flag.FlagSet
	server  cli.ServerURL
	timeout time.Duration
}

// registerServerFlags adds --server and --timeout, with timeout as the default of --timeout.
func registerServerFlags(fs *flag.FlagSet, timeout time.Duration) *serverFlags {
	sf := &serverFlags{fs: fs}
	sf.server.Set(client.DefaultServer)
	fs.Var(&sf.server, "server", "the ID server's base `URL` (http://host:port, https://…, or host:port)")
	fs.DurationVar(&sf.timeout, "timeout", timeout, "how long each request may take")
	return sf
}

// check returns a UsageError for a malformed --server, naming where it came from and never its
// value, or a --timeout out of [lo, hi].
func (sf *serverFlags) check(cmd string, getenv func(string) string, lo, hi time.Duration) error {
	if err := sf.server.Err(); err != nil {
		return cli.Usagef("%s: %s: %v", cmd, cli.FlagName(sf.fs, envPrefix, getenv, "server"), err)
	}
	if sf.timeout < lo || sf.timeout > hi {
		return cli.Usagef("%s: %s %v out of range [%v, %v]", cmd, cli.FlagName(sf.fs, envPrefix, getenv, "timeout"), sf.timeout, lo, hi)
	}
	return nil
}

// client returns a client for the chosen server; a bad URL or timeout is a usage error. The client
// sends no credentials: a URL with a user or password is refused (without showing it).
func (sf *serverFlags) client(cmd string, getenv func(string) string) (*client.Client, error) {
	if err := sf.check(cmd, getenv, time.Millisecond, 10*time.Minute); err != nil {
		return nil, err
	}
	name := cli.FlagName(sf.fs, envPrefix, getenv, "server")
	if sf.server.HasUser() {
		return nil, cli.Usagef("%s: %s: the URL holds a user or password, which %s does not send (value hidden)", cmd, name, cmd)
	}
	c, err := client.New(sf.server.URL().Raw(), client.WithTimeout(sf.timeout))
	switch {
	case errors.Is(err, client.ErrInvalidURL):
		// Not expected after ParseServerURL; the client's message names no part of the URL.
		return nil, cli.Usagef("%s: %s: %w", cmd, name, err)
	case errors.Is(err, client.ErrInvalidOption):
		return nil, cli.Usagef("%s: --timeout: %w", cmd, err)
	}
	return c, err
}
