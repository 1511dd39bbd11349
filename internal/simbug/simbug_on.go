//go:build simbugs

package simbug

// With the simbugs tag the switches are variables; set them only before any generator or assigner
// is built, and only from tests.
var (
	CloseRace    = false
	LowerMark    = false
	FarMarkClaim = false
)
