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
	t, err := parseEpoch(lf.Epoch)
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

// parseEpoch parses RFC 3339 or Unix milliseconds.
func parseEpoch(s string) (time.Time, error) {
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
