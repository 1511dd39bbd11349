package snowfall

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Presets. Their bit diagrams and limits are documented in the package comment.
const (
	PresetSnowfall          = "snowfall"
	PresetPysnowflake       = "pysnowflake"
	PresetPysnowflakeLegacy = "pysnowflake-legacy"
	PresetTwitter           = "twitter"
	PresetJS                = "js"
)

// Epochs of the presets, in Unix milliseconds.
const (
	EpochSnowfall    int64 = 1577836800000 // 2020-01-01T00:00:00Z
	EpochPysnowflake int64 = 550281600000  // 1987-06-10T00:00:00Z
	EpochTwitter     int64 = 1288834974657 // 2010-11-04T01:42:54.657Z
)

// PresetNames lists the preset layouts in the order they are documented.
func PresetNames() []string {
	return []string{PresetSnowfall, PresetPysnowflake, PresetPysnowflakeLegacy, PresetTwitter, PresetJS}
}

func presetFields(name string) ([]Field, int64, bool) {
	switch name {
	case PresetSnowfall:
		return []Field{{FieldTime, 40}, {FieldSequence, 12}, {FieldGenerator, 11}}, EpochSnowfall, true
	case PresetPysnowflake:
		return []Field{{FieldTime, 41}, {FieldDC, 4}, {FieldWorker, 8}, {FieldSequence, 10}}, EpochPysnowflake, true
	case PresetPysnowflakeLegacy:
		return []Field{{FieldTime, 41}, {FieldDC, 2}, {FieldWorker, 8}, {FieldSequence, 12}}, EpochPysnowflake, true
	case PresetTwitter:
		return []Field{{FieldTime, 41}, {FieldDC, 5}, {FieldWorker, 5}, {FieldSequence, 12}}, EpochTwitter, true
	case PresetJS:
		return []Field{{FieldTime, 41}, {FieldSequence, 7}, {FieldGenerator, 5}}, EpochSnowfall, true
	}
	return nil, 0, false
}

// presetName returns the name of the preset whose fields, epoch and unit l has, or "custom". A
// spread does not change the name: it changes which IDs are issued, not how they decode.
func presetName(l Layout) string {
	for _, name := range PresetNames() {
		fields, epoch, _ := presetFields(name)
		if l.unit == time.Millisecond && l.epochMs == epoch && slices.Equal(l.fields[:l.n], fields) {
			return name
		}
	}
	return "custom"
}

// defaultLayout is the snowfall preset, built once: the zero Layout stands for it.
var defaultLayout = func() Layout {
	l, err := Preset(PresetSnowfall)
	if err != nil {
		panic(err) // the preset table is fixed; this cannot fail
	}
	return l
}()

// DefaultLayout returns the snowfall preset: 0 | 40 time (ms since 2020-01-01) | 12 sequence | 11 generator.
func DefaultLayout() Layout { return defaultLayout }

// Preset returns the named preset layout, or an error wrapping ErrInvalidLayout naming the presets.
func Preset(name string) (Layout, error) {
	fields, epoch, ok := presetFields(name)
	if !ok {
		return Layout{}, fmt.Errorf("%w: unknown preset %q (presets: %s)", ErrInvalidLayout, name, strings.Join(PresetNames(), ", "))
	}
	// The presets' epochs are constants long past; checking them against time.Now would only fail
	// where time is fake (a testing/synctest bubble starts in 2000). A generator still checks the
	// epoch against its own clock.
	return newLayout(fields, time.UnixMilli(epoch), time.Millisecond, false)
}
