// Package seeds reads which seeds a seeded, replayable search runs from the environment, the same
// way for every search (the simulation, the alias search).
package seeds

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// Plan is the seeds a search runs: First, First+1, … while More says so.
type Plan struct {
	First, Count uint64
	Until        time.Time // zero: no time limit
	One          bool      // <prefix>_SEED named one seed to replay
}

// FromEnv reads the plan of the search whose variables start with prefix: <prefix>_SEED (one seed,
// to replay), or <prefix>_FIRST (1 by default), <prefix>_<count> (def by default) and
// <prefix>_DURATION (as many seeds as fit, for a long search). A malformed value fails the test.
func FromEnv(t testing.TB, prefix, count string, def uint64) Plan {
	t.Helper()
	p := Plan{First: 1, Count: def}
	if v := os.Getenv(prefix + "_SEED"); v != "" {
		p.First, p.Count, p.One = Uint(t, prefix+"_SEED"), 1, true
		return p
	}
	if os.Getenv(prefix+"_FIRST") != "" {
		p.First = Uint(t, prefix+"_FIRST")
	}
	if os.Getenv(prefix+"_"+count) != "" {
		p.Count = Uint(t, prefix+"_"+count)
	}
	if v := os.Getenv(prefix + "_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s_DURATION=%q: want a positive duration such as 20m", prefix, v)
		}
		p.Count, p.Until = ^uint64(0), time.Now().Add(d)
	}
	return p
}

// More reports whether the search runs its i-th seed (from 0).
func (p Plan) More(i uint64) bool {
	return i < p.Count && (p.Until.IsZero() || time.Now().Before(p.Until))
}

// Uint returns the positive integer in the environment variable name; another value fails the
// test.
func Uint(t testing.TB, name string) uint64 {
	t.Helper()
	v := os.Getenv(name)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}
