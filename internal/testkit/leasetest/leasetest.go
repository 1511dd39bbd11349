// Package leasetest is the test suite every snowfall.Assigner must pass, run by the assigners'
// tests against real stores, and the helper process that holds a lease in a subprocess.
package leasetest

import (
	"testing"

	"github.com/snowfall-go/snowfall"
)

// HelperVar is the environment variable that turns a test binary into a lease-holding helper
// process; its value is passed to the backend's open function.
const HelperVar = "SNOWFALL_LEASE_HELPER"

// SmallLayout has four generator ids, for tests that must fill the pool or get a given id back.
func SmallLayout() snowfall.Layout {
	l, err := snowfall.ParseLayout("time=41,seq=20,gen=2")
	if err != nil {
		panic(err)
	}
	return l
}

// Backend is what the suite needs from an assigner.
type Backend struct {
	// New returns a handle on a fresh, empty manifest of the test's own (and drops it at cleanup).
	New func(t *testing.T) snowfall.Assigner
	// Helper returns the value of HelperVar that makes a subprocess open the manifest a is a
	// handle on; nil when the backend cannot be shared between processes.
	Helper func(a snowfall.Assigner) string
	// Faulty returns a handle on a fresh manifest that cut makes unreachable until restore.
	Faulty func(t *testing.T) (a snowfall.Assigner, cut, restore func())
}

// Run runs the suite.
func Run(t *testing.T, b Backend) {
	t.Run("DistinctConcurrent", func(t *testing.T) { testDistinct(t, b) })
	t.Run("FillPool", func(t *testing.T) { testFill(t, b) })
	t.Run("ReuseAfterClose", func(t *testing.T) { testReuse(t, b) })
	t.Run("Mismatch", func(t *testing.T) { testMismatch(t, b) })
	t.Run("ClockBehindTakeover", func(t *testing.T) { testClockBehind(t, b) })
	t.Run("Lost", func(t *testing.T) { testLost(t, b) })
	t.Run("MarksOnlyRise", func(t *testing.T) { testMarksOnlyRise(t, b) })
	t.Run("FarMarkAvoided", func(t *testing.T) { testFarMark(t, b) })
	t.Run("ReplayedClaim", func(t *testing.T) { testReplayedClaim(t, b) })
	t.Run("StaleClaim", func(t *testing.T) { testStaleClaim(t, b) })
	t.Run("FreeOrder", func(t *testing.T) { testFreeOrder(t, b) })
	t.Run("Start", func(t *testing.T) { testStart(t, b) })
	t.Run("ManifestRace", func(t *testing.T) { testManifestRace(t, b) })
	t.Run("ManifestAddsNewProperty", func(t *testing.T) { testManifestAddsNewProperty(t, b) })
	if b.Helper != nil {
		t.Run("TakeoverAfterKill", func(t *testing.T) { testKill(t, b) })
		t.Run("StoppedHolder", func(t *testing.T) { testStop(t, b) })
	}
	if b.Faulty != nil {
		t.Run("Unreachable", func(t *testing.T) { testUnreachable(t, b) })
	}
}

// lease opens a Leased generator and closes it at cleanup.
func lease(t *testing.T, a snowfall.Assigner, s snowfall.LeaseSettings) *snowfall.Leased {
	t.Helper()
	l, err := snowfall.NewLeased(t.Context(), a, s)
	if err != nil {
		t.Fatalf("NewLeased: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
