package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

type decodeCmd struct{}

func (decodeCmd) Name() string { return "decode" }
func (decodeCmd) Synopsis() string {
	return "split IDs into time, sequence and node fields (JSON lines)"
}

var decodeSpec = cli.Spec{
	Name:      "decode",
	Usage:     "snowfall decode [--layout L] [--epoch E] [ID...]   (IDs from stdin, one per line, when none are given)",
	EnvPrefix: envPrefix,
	Args:      cli.AnyArgs,
}

func (c decodeCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	var lf cli.LayoutFlags
	lf.Register(fs, false)
	if err := decodeSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	l, err := lf.Resolve()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(sio.Out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	var bad int
	decode := func(s string) error {
		d, err := snowfall.DecodeString(l, s)
		if err != nil {
			bad++
			w.Flush()
			fmt.Fprintf(sio.Err, "snowfall: decode: %v\n", err)
			return nil
		}
		return enc.Encode(d)
	}
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			if err := decode(a); err != nil {
				return err
			}
		}
	} else {
		sc := bufio.NewScanner(sio.In)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				if err := decode(line); err != nil {
					return err
				}
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("decode: reading input: %w", err)
		}
	}
	if bad > 0 {
		return errors.New("decode: " + plural(bad, "malformed ID"))
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
