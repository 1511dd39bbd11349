package main

import (
	"flag"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// floorUsage is the help text of --floor (next and serve).
const floorUsage = "migration floor: the largest ID an earlier generator with this layout issued (decimal, base32:… or base58:…), " +
	"or an RFC 3339 time after which it issued nothing; only IDs above it are issued. At most 1s ahead of the clock"

// parseFloor reads --floor (s, "" for none) under layout l and checks that a generator whose clock
// reads now can wait it out. Errors are UsageErrors naming the flag (or its environment variable)
// and the range: the layout's IDs or times, or the latest floor the clock allows.
func parseFloor(fs *flag.FlagSet, getenv func(string) string, s string, l snowfall.Layout, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	name := cli.FlagName(fs, envPrefix, getenv, "floor")
	after, err := snowfall.ParseFloor(l, s)
	if err != nil {
		return time.Time{}, cli.Usagef("%s: %v", name, err)
	}
	if err := snowfall.CheckFloor(l, after, now, 0); err != nil {
		return time.Time{}, cli.Usagef("%s %s: %v", name, s, err)
	}
	return after, nil
}

// floorIsID reports whether a --floor value names an ID (which only its layout decodes) rather than
// a time.
func floorIsID(s string) bool {
	_, err := snowfall.ParseAny(s)
	return err == nil
}
