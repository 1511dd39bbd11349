package snowfall_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/memassign"
)

// TestManifestKeepsPresetName: a holder that takes its layout from the manifest (spec and epoch)
// reports the preset the first holder chose, not "custom".
func TestManifestKeepsPresetName(t *testing.T) {
	for _, name := range snowfall.PresetNames() {
		t.Run(name, func(t *testing.T) {
			p, err := snowfall.Preset(name)
			if err != nil {
				t.Fatal(err)
			}
			a := memassign.New(nil)
			first, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: p})
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{}) // the manifest's layout
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if got := l.Layout().Name(); got != name {
				t.Errorf("Layout().Name() = %q, want %q", got, name)
			}
			if got := l.Stats().Layout; got != name {
				t.Errorf("Stats().Layout = %q, want %q", got, name)
			}
			if l.Layout() != p {
				t.Errorf("Layout() = %v, want %v", l.Layout(), p)
			}
		})
	}
}

func TestPoolSizeAndNodeOf(t *testing.T) {
	tw, _ := snowfall.Preset(snowfall.PresetTwitter)
	for _, tc := range []struct {
		name string
		l    snowfall.Layout
		size int64
		n    int64
		node snowfall.Node
	}{
		{"snowfall", snowfall.DefaultLayout(), 2048, 5, snowfall.Node{Generator: 5}},
		{"twitter", tw, 1024, 33, snowfall.Node{DC: 1, Worker: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := snowfall.PoolSize(tc.l); got != tc.size {
				t.Errorf("PoolSize: got %d, want %d", got, tc.size)
			}
			if got := snowfall.NodeOf(tc.l, tc.n); got != tc.node {
				t.Errorf("NodeOf(%d): got %+v, want %+v", tc.n, got, tc.node)
			}
		})
	}
}

func TestManifestEpochInFuture(t *testing.T) {
	a := memassign.New(nil)
	future := time.Now().Add(24 * time.Hour).UnixMilli()
	if _, err := a.Properties(t.Context(), map[string]string{
		snowfall.PropEpochMs: fmt.Sprint(future),
		snowfall.PropLayout:  snowfall.DefaultLayout().Spec(),
		snowfall.PropProbeMs: "5000",
	}); err != nil {
		t.Fatal(err)
	}
	_, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{})
	if !errors.Is(err, snowfall.ErrInvalidLayout) || !strings.Contains(err.Error(), "in the future") {
		t.Errorf("manifest epoch in the future: got %v, want ErrInvalidLayout saying so", err)
	}
}

// TestManifestKeepsSpread: a fleet shares its layout's spread through the manifest: a holder that
// takes the manifest's layout gets it, and one that asks for another spread (or none) is refused
// with ErrMismatch naming both.
func TestManifestKeepsSpread(t *testing.T) {
	spread, err := snowfall.ParseLayout("twitter,spread=64")
	if err != nil {
		t.Fatal(err)
	}
	a := memassign.New(nil)
	first, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: spread})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{}) // the manifest's layout
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Layout() != spread || l.Layout().Spread() != 64 {
		t.Errorf("Layout() = %v, want %v", l.Layout(), spread)
	}
	for _, other := range []string{"twitter", "twitter,spread=32"} {
		o, _ := snowfall.ParseLayout(other)
		_, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Layout: o})
		if !errors.Is(err, snowfall.ErrMismatch) || !strings.Contains(err.Error(), o.Spec()) || !strings.Contains(err.Error(), spread.Spec()) {
			t.Errorf("layout %s on a manifest of %s: got %v, want ErrMismatch naming both specs", other, spread.Spec(), err)
		}
	}
}

// TestManifestProbeRange: a recorded probe_ms is read only within [MinProbe, MaxProbe], whole
// milliseconds; anything else (one that would overflow a lease, zero, a fraction) is an error
// naming the value and the range, where it used to be ignored or to overflow.
func TestManifestProbeRange(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		v    string
		want time.Duration // 0: an error
	}{
		{"50", 50 * time.Millisecond}, {"600000", 10 * time.Minute}, {"2000", 2 * time.Second},
		{"49", 0}, {"600001", 0}, {"0", 0}, {"-1", 0}, {"9223372036854775807", 0}, {"1.5", 0}, {"x", 0},
	} {
		a := memassign.New(time.Now)
		if _, err := a.Properties(ctx, map[string]string{snowfall.PropLayout: snowfall.PresetSnowfall, snowfall.PropEpochMs: "1577836800000", snowfall.PropProbeMs: c.v}); err != nil {
			t.Fatal(err)
		}
		m, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{})
		switch {
		case c.want != 0 && (err != nil || m.Probe != c.want):
			t.Errorf("probe_ms %q: %v, %v; want %v", c.v, m.Probe, err, c.want)
		case c.want == 0 && (err == nil || !strings.Contains(err.Error(), "probe_ms") || !strings.Contains(err.Error(), "[50, 600000]")):
			t.Errorf("probe_ms %q: probe %v, error %v; want an error naming probe_ms and [50, 600000]", c.v, m.Probe, err)
		}
	}
}
