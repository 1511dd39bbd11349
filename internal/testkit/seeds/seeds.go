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

// Vars names the environment variables of a search's plan.
type Vars struct {
	Seed     string // one seed, to replay
	First    string // the first seed (1 by default)
	Count    string // how many seeds
	Duration string // as many seeds as fit in a duration, for a long search
}

// FromEnv reads the plan of a search from the variables v names; def is the count when none is
// set. A malformed value fails the test.
func FromEnv(t testing.TB, v Vars, def uint64) Plan {
	t.Helper()
	p := Plan{First: 1, Count: def}
	if os.Getenv(v.Seed) != "" {
		p.First, p.Count, p.One = Uint(t, v.Seed), 1, true
		return p
	}
	if os.Getenv(v.First) != "" {
		p.First = Uint(t, v.First)
	}
	if os.Getenv(v.Count) != "" {
		p.Count = Uint(t, v.Count)
	}
	if s := os.Getenv(v.Duration); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration such as 20m", v.Duration, s)
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
