package snowfall

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// MaxPoolSize is the most generator ids a manifest can hold.
const MaxPoolSize = 1 << 16

// Property keys a manifest stores.
const (
	PropEpochMs = "epoch_ms"
	PropLayout  = "layout"
	PropProbeMs = "probe_ms"
)

// MinProbe and MaxProbe bound the probe interval a manifest records (its probe_ms): ReadManifest
// refuses a recorded value outside them when it would use it, and the commands take no --probe
// outside them.
const (
	MinProbe = 50 * time.Millisecond
	MaxProbe = 10 * time.Minute
)

// Manifest is the configuration a manifest records.
type Manifest struct {
	Layout Layout
	Probe  time.Duration
}

// PoolSize returns how many generator ids a manifest with layout l holds: the values of its gen field,
// or of its dc and worker fields together.
func PoolSize(l Layout) int64 {
	if l.Has(FieldGenerator) {
		return l.Max(FieldGenerator) + 1
	}
	return 1 << (l.Bits(FieldDC) + l.Bits(FieldWorker))
}

// NodeOf returns the node values of generator id n under l: the gen field, or dc and worker with the
// dc in the high bits.
func NodeOf(l Layout, n int64) Node {
	if l.Has(FieldGenerator) {
		return Node{Generator: n}
	}
	wb := l.Bits(FieldWorker)
	return Node{DC: n >> wb, Worker: n & (1<<wb - 1)}
}

// ReadManifest returns a's manifest, first recording want's layout (the default when zero) and
// probe (DefaultProbe when zero) if a has none. Errors: ErrMismatch naming both values when want's
// layout is not zero and differs from the recorded one; ErrInvalidLayout for a recorded layout that
// does not parse or whose epoch is in the future; when want.Probe is zero, an error naming the
// value and the range for a recorded probe_ms that is not whole milliseconds in [MinProbe,
// MaxProbe] (see ParseProbeMs).
func ReadManifest(ctx context.Context, a Assigner, want Manifest) (Manifest, error) {
	l := want.Layout.orDefault()
	probe := want.Probe
	if probe <= 0 {
		probe = DefaultProbe
	}
	if err := checkPool(l); err != nil {
		return Manifest{}, err
	}
	props, err := a.Properties(ctx, map[string]string{
		PropEpochMs: strconv.FormatInt(l.EpochMs(), 10),
		PropLayout:  l.Spec(),
		PropProbeMs: strconv.FormatInt(probe.Milliseconds(), 10),
	})
	if err != nil {
		return Manifest{}, fmt.Errorf("snowfall: read manifest: %w", err)
	}
	ms, err := strconv.ParseInt(props[PropEpochMs], 10, 64)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: manifest epoch_ms %q is not a number", ErrInvalidLayout, props[PropEpochMs])
	}
	var got Layout
	if want.Layout.IsZero() {
		if got, err = ParseLayout(props[PropLayout]); err != nil {
			return Manifest{}, fmt.Errorf("snowfall: manifest layout %q: %w", props[PropLayout], err)
		}
		if got, err = got.WithEpoch(time.UnixMilli(ms)); err != nil {
			return Manifest{}, fmt.Errorf("snowfall: manifest epoch: %w", err)
		}
	} else {
		if spec := props[PropLayout]; spec != l.Spec() {
			return Manifest{}, fmt.Errorf("%w: layout %s, but the manifest records %s", ErrMismatch, l.Spec(), spec)
		}
		if ms != l.EpochMs() {
			return Manifest{}, fmt.Errorf("%w: epoch %s (%d ms), but the manifest records %s (%d ms)", ErrMismatch,
				l.Epoch().Format(time.RFC3339Nano), l.EpochMs(), time.UnixMilli(ms).UTC().Format(time.RFC3339Nano), ms)
		}
		got = l // the same layout, with the caller's preset name
	}
	m := Manifest{Layout: got, Probe: probe}
	if want.Probe <= 0 {
		p, err := ParseProbeMs(props[PropProbeMs])
		if err != nil {
			return Manifest{}, err
		}
		m.Probe = p
	}
	return m, checkPool(got)
}

func checkPool(l Layout) error {
	if n := PoolSize(l); n > MaxPoolSize {
		return fmt.Errorf("%w: layout %s has %d generator ids, a manifest holds at most %d", ErrInvalidLayout, l.Spec(), n, MaxPoolSize)
	}
	return nil
}

// ParseProbeMs reads a manifest's probe_ms: whole milliseconds in [MinProbe, MaxProbe]. An error
// names the value and the range (a RangeError for a number outside it).
func ParseProbeMs(s string) (time.Duration, error) {
	p, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: manifest probe_ms %q is not a whole number of milliseconds in [%d, %d]",
			ErrInvalidLayout, clip(s), MinProbe.Milliseconds(), MaxProbe.Milliseconds())
	}
	if err := checkRange("manifest probe_ms", p, MinProbe.Milliseconds(), MaxProbe.Milliseconds()); err != nil {
		return 0, err
	}
	return time.Duration(p) * time.Millisecond, nil
}
