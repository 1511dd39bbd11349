package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// maxGet bounds snowfall get -n.
const maxGet = 10_000_000

type getCmd struct{}

func (getCmd) Name() string     { return "get" }
func (getCmd) Synopsis() string { return "print new IDs from an ID server" }

func (c getCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	const usage = "snowfall get [--server URL] [-n N] [--timeout D]"
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	nf := &cli.IntFlag{V: 1}
	fs.Var(nf, "n", "how many IDs to print, 1 to 10000000")
	n := &nf.V
	sf := registerServerFlags(fs)
	if err := cli.Parse(fs, args, "SNOWFALL_", sio.Getenv); err != nil {
		cli.PrintUsage(sio.Err, fs, usage)
		return err
	}
	if fs.NArg() > 0 {
		cli.PrintUsage(sio.Err, fs, usage)
		return cli.Usagef("get: unexpected argument %q", fs.Arg(0))
	}
	if *n < 1 || *n > maxGet {
		return cli.Usagef("get: -n %d out of range [1, %d]", *n, maxGet)
	}
	cl, err := sf.client("get")
	if err != nil {
		return err
	}
	defer cl.Close()
	w := bufio.NewWriter(sio.Out)
	var line []byte
	for left := *n; left > 0; {
		ids, err := cl.NextIDs(ctx, min(left, client.MaxBatch))
		if err != nil {
			w.Flush()
			return fmt.Errorf("get: %w", err)
		}
		for _, id := range ids {
			line = append(strconv.AppendInt(line[:0], int64(id), 10), '\n')
			w.Write(line)
		}
		left -= len(ids)
	}
	return w.Flush()
}

// serverFlags are the flags of the commands that talk to an ID server.
type serverFlags struct {
	server  string
	timeout time.Duration
}

func registerServerFlags(fs *flag.FlagSet) *serverFlags {
	sf := &serverFlags{}
	fs.StringVar(&sf.server, "server", client.DefaultServer, "the ID server's base URL")
	fs.DurationVar(&sf.timeout, "timeout", 10*time.Second, "how long each request may take")
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
