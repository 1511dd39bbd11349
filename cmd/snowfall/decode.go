package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	lf.NameFrom(fs, envPrefix, sio.Getenv)
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
		r := bufio.NewReader(sio.In)
		for n := 1; ; n++ {
			line, long, err := readLine(r)
			if long > 0 {
				// Named by its number and length, none of it quoted: a clip of it could cut a
				// password anywhere, below what the guard recognises.
				bad++
				w.Flush()
				fmt.Fprintf(sio.Err, "snowfall: decode: line %d (%d bytes) is not an ID: an ID's text has at most %d bytes\n", n, long, maxLine)
			} else if line = strings.TrimSpace(line); line != "" {
				if err := decode(line); err != nil {
					return err
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("decode: reading input: %w", err)
			}
		}
	}
	if bad > 0 {
		return errors.New("decode: " + plural(bad, "malformed ID"))
	}
	return nil
}

// maxLine is the longest line decode reads as a whole: far more than any ID's text.
const maxLine = 256

// readLine returns the next line of r without its end. A line longer than maxLine is read to its
// end but not kept: readLine returns "" and its length as long.
func readLine(r *bufio.Reader) (line string, long int, err error) {
	var b []byte
	n := 0
	for {
		chunk, isPrefix, err := r.ReadLine()
		n += len(chunk)
		if len(b) < maxLine+1 {
			b = append(b, chunk[:min(len(chunk), maxLine+1-len(b))]...)
		}
		if err != nil || !isPrefix {
			if n > maxLine {
				return "", n, err
			}
			if err == io.EOF && n > 0 {
				err = nil // the last line, without a newline: the next call returns io.EOF
			}
			return string(b), 0, err
		}
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
