// Package cli holds what the commands share: flags that can also come from the environment, the
// flags that pick a layout, epoch and node values, and the mapping of errors to exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
)

// UsageError is a mistake in a command line or in an environment variable standing for a flag. It
// makes a command exit 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// ExitCode maps an error from a command to its exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitRuntime
}

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
}

// StdIO returns the process's standard streams and environment.
func StdIO() IO { return IO{os.Stdin, os.Stdout, os.Stderr, os.Getenv} }

// Parse parses args into fs; then every flag not set on the command line takes its value from the
// environment variable prefix+NAME (upper case, '-' as '_'), if set: flag beats env beats default.
// A bad env value is a UsageError naming the variable.
func Parse(fs *flag.FlagSet, args []string, prefix string, getenv func(string) string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{err}
	}
	if prefix == "" || getenv == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := EnvName(prefix, f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = Usagef("invalid value %q for %s: %v", v, name, e)
		}
	})
	return err
}

// EnvName returns the environment variable that stands for flag name.
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// PrintUsage writes a command's usage line and its flags.
func PrintUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprintf(w, "usage: %s\n", usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// Int64Flag is an int64 flag that remembers whether it was set, so that --dc 0 differs from no --dc.
type Int64Flag struct {
	V     int64
	IsSet bool
}

func (f *Int64Flag) String() string { return strconv.FormatInt(f.V, 10) }

// Set parses a decimal value strictly (see ParseDecimal).
func (f *Int64Flag) Set(s string) error {
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	f.V, f.IsSet = v, true
	return nil
}

// ParseDecimal parses a whole number written in plain decimal: an optional '-' and 1 to 19 digits.
// Spaces, a '+' sign, base prefixes (0x10) and digit separators (1_000) are errors, the same on
// the command line and in the environment.
func ParseDecimal(s string) (int64, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || len(digits) > 19 || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number in decimal", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range for a whole number", s)
	}
	return v, nil
}

// IntFlag is an int flag parsed with ParseDecimal.
type IntFlag struct{ V int }

func (f *IntFlag) String() string { return strconv.Itoa(f.V) }

// Set parses a decimal value strictly.
func (f *IntFlag) Set(s string) error {
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	if int64(int(v)) != v {
		return fmt.Errorf("%q is out of range", s)
	}
	f.V = int(v)
	return nil
}

// FlagName returns how to name flag name in an error: "--name" when it was set on the command line
// or not at all, and the environment variable prefix+NAME when its value came from there.
func FlagName(fs *flag.FlagSet, prefix string, getenv func(string) string, name string) string {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	if !set && getenv != nil && getenv(EnvName(prefix, name)) != "" {
		return EnvName(prefix, name)
	}
	return "--" + name
}

// LayoutFlags are the flags that choose a layout and node values.
type LayoutFlags struct {
	Layout    string
	Epoch     string
	Generator Int64Flag
	DC        Int64Flag
	Worker    Int64Flag
}

// Register adds --layout and --epoch, and with node set also --generator, --dc and --worker.
func (lf *LayoutFlags) Register(fs *flag.FlagSet, node bool) {
	fs.StringVar(&lf.Layout, "layout", snowfall.PresetSnowfall,
		"layout: a preset ("+strings.Join(snowfall.PresetNames(), ", ")+") or fields such as time=41,dc=5,worker=5,seq=12")
	fs.StringVar(&lf.Epoch, "epoch", "", "epoch as RFC 3339 or Unix milliseconds (default: the layout's)")
	if node {
		fs.Var(&lf.Generator, "generator", "generator id, for layouts with a gen field")
		fs.Var(&lf.DC, "dc", "datacenter id, for layouts with dc and worker fields")
		fs.Var(&lf.Worker, "worker", "worker id, for layouts with dc and worker fields")
	}
}

// Resolve returns the chosen layout; errors are UsageErrors.
func (lf *LayoutFlags) Resolve() (snowfall.Layout, error) {
	l, err := snowfall.ParseLayout(lf.Layout)
	if err != nil {
		return l, &UsageError{fmt.Errorf("--layout: %w", err)}
	}
	if lf.Epoch == "" {
		return l, nil
	}
	t, err := ParseEpoch(lf.Epoch)
	if err != nil {
		return l, &UsageError{fmt.Errorf("--epoch: %w", err)}
	}
	if l, err = l.WithEpoch(t); err != nil {
		return l, &UsageError{fmt.Errorf("--epoch: %w", err)}
	}
	return l, nil
}

// Node returns the node values for layout l, checked against its ranges; errors are UsageErrors.
func (lf *LayoutFlags) Node(l snowfall.Layout) (snowfall.Node, error) {
	n := snowfall.Node{Generator: lf.Generator.V, DC: lf.DC.V, Worker: lf.Worker.V}
	if l.Has(snowfall.FieldGenerator) && (lf.DC.IsSet || lf.Worker.IsSet) {
		return n, Usagef("layout %s has a gen field: use --generator, not --dc/--worker", l.Name())
	}
	if !l.Has(snowfall.FieldGenerator) && lf.Generator.IsSet {
		return n, Usagef("layout %s has dc and worker fields: use --dc and --worker, not --generator", l.Name())
	}
	if err := l.CheckNode(n); err != nil {
		return n, &UsageError{err}
	}
	return n, nil
}

// ParseEpoch parses RFC 3339 or Unix milliseconds.
func ParseEpoch(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		const maxMs = 253402300799999 // 9999-12-31T23:59:59.999Z, the last instant RFC 3339 can write
		if ms < 0 || ms > maxMs {
			return time.Time{}, fmt.Errorf("%q Unix milliseconds out of range [0, %d]", s, int64(maxMs))
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither RFC 3339 (2020-01-01T00:00:00Z) nor Unix milliseconds", s)
	}
	return t, nil
}

// Command is one subcommand.
type Command interface {
	Name() string
	Synopsis() string
	Run(ctx context.Context, args []string, io IO) error
}
