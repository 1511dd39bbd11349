package snowfall_test

import (
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

// TestPresetNameFromFields: a layout built from a preset's fields, epoch and unit is that preset.
func TestPresetNameFromFields(t *testing.T) {
	for _, name := range snowfall.PresetNames() {
		p, _ := snowfall.Preset(name)
		parsed, err := snowfall.ParseLayout(p.Spec())
		if err != nil {
			t.Fatal(err)
		}
		parsed, err = parsed.WithEpoch(p.Epoch())
		if err != nil {
			t.Fatal(err)
		}
		built, err := snowfall.NewLayout(p.Fields(), p.Epoch(), p.Unit())
		if err != nil {
			t.Fatal(err)
		}
		for how, l := range map[string]snowfall.Layout{"ParseLayout+WithEpoch": parsed, "NewLayout": built} {
			if got := l.Name(); got != name {
				t.Errorf("%s of %s: Name() = %q, want %q", how, name, got, name)
			}
		}
	}
	// Another epoch or unit makes a custom layout.
	p := snowfall.DefaultLayout()
	for _, c := range []struct {
		epoch time.Time
		unit  time.Duration
	}{{p.Epoch().Add(time.Hour), 0}, {p.Epoch(), 2 * time.Millisecond}} {
		l, err := snowfall.NewLayout(p.Fields(), c.epoch, c.unit)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Name(); got != "custom" {
			t.Errorf("NewLayout(snowfall fields, %v, %v).Name() = %q, want custom", c.epoch, c.unit, got)
		}
	}
}
