//go:build !simbugs

// Package simbug puts known, fixed defects back into the lease code, for one purpose: proving that
// the deterministic simulation (internal/testkit/sim) can find them. In a normal build every switch is a
// constant false and the compiler removes the code it guards; only a build with the tag simbugs
// (go test -tags simbugs ./internal/testkit/sim) turns them into variables a test can set.
package simbug

// Switches, one per defect of issue 10; see simbug_on.go.
const (
	CloseRace    = false // 1: Close records max(last, now) without sealing the generator against in-flight calls
	LowerMark    = false // 2: a late renewal may lower the stored mark (memassign)
	FarMarkClaim = false // 4: a claim takes the lowest free id whatever its mark (memassign), and keeps it
)
