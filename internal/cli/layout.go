package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
)

// LayoutFlags are the flags that choose a layout and node values.
type LayoutFlags struct {
	Layout    string
	Epoch     string
	Generator Int64Flag
	DC        Int64Flag
	Worker    Int64Flag

	name func(flag string) string // see NameFrom
}

// NameFrom makes the errors of Resolve and Node name a value by its environment variable
// (prefix+NAME) when it came from there, as FlagName does; without it they name the flag.
func (lf *LayoutFlags) NameFrom(fs *flag.FlagSet, prefix string, getenv func(string) string) {
	lf.name = func(f string) string { return FlagName(fs, prefix, getenv, f) }
}

func (lf *LayoutFlags) flagName(f string) string {
	if lf.name == nil {
		return "--" + f
	}
	return lf.name(f)
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

// Resolve returns the chosen layout; errors are UsageErrors. White space around a value is an
// error, as it is for numbers.
func (lf *LayoutFlags) Resolve() (snowfall.Layout, error) {
	if strings.TrimSpace(lf.Layout) != lf.Layout {
		return snowfall.Layout{}, Usagef("%s %q: white space around the value", lf.flagName("layout"), lf.Layout)
	}
	l, err := snowfall.ParseLayout(lf.Layout)
	if err != nil {
		return l, &UsageError{fmt.Errorf("%s: %w", lf.flagName("layout"), err)}
	}
	if lf.Epoch == "" {
		return l, nil
	}
	t, err := parseEpoch(lf.Epoch)
	if err != nil {
		return l, &UsageError{fmt.Errorf("%s: %w", lf.flagName("epoch"), err)}
	}
	if l, err = l.WithEpoch(t); err != nil {
		return l, &UsageError{fmt.Errorf("%s: %w", lf.flagName("epoch"), err)}
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
	for _, f := range []struct {
		kind snowfall.FieldKind
		name string
		v    Int64Flag
	}{{snowfall.FieldGenerator, "generator", lf.Generator}, {snowfall.FieldDC, "dc", lf.DC}, {snowfall.FieldWorker, "worker", lf.Worker}} {
		if l.Has(f.kind) && (f.v.V < 0 || f.v.V > l.Max(f.kind)) {
			return n, Usagef("%s %d out of range [0, %d]", lf.flagName(f.name), f.v.V, l.Max(f.kind))
		}
	}
	if err := l.CheckNode(n); err != nil {
		return n, &UsageError{err}
	}
	return n, nil
}

// parseEpoch parses RFC 3339 or Unix milliseconds. White space around it is an error, as it is for
// numbers.
func parseEpoch(s string) (time.Time, error) {
	if strings.TrimSpace(s) != s {
		return time.Time{}, fmt.Errorf("%q: white space around the value", s)
	}
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
