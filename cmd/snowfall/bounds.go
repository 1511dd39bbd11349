package main

import (
	"flag"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// Bounds of the flags of serve (and of schema create's --probe, and of every --db-timeout).
const (
	minProbe       = snowfall.MinProbe
	maxProbe       = snowfall.MaxProbe
	maxClockOffset = cli.MaxClockOffset
	maxConns       = 1 << 20
	minDBTimeout   = 100 * time.Millisecond
	maxDBTimeout   = 10 * time.Minute

	maxDrainDelay      = 10 * time.Minute
	minShutdownTimeout = 100 * time.Millisecond
	maxShutdownTimeout = 10 * time.Minute
)

// durationBound is a duration flag's allowed range.
type durationBound struct {
	name   string
	v      *time.Duration
	lo, hi time.Duration
	zero   bool // zero is allowed and means "the default"
}

// checkDurations returns a UsageError naming the first flag outside its range, and the environment
// variable when the value came from there.
func checkDurations(fs *flag.FlagSet, getenv func(string) string, bounds ...durationBound) error {
	for _, b := range bounds {
		d := *b.v
		if (b.zero && d == 0) || (d >= b.lo && d <= b.hi) {
			continue
		}
		return cli.Usagef("%s %v out of range [%v, %v]", cli.FlagName(fs, envPrefix, getenv, b.name), d, b.lo, b.hi)
	}
	return nil
}
