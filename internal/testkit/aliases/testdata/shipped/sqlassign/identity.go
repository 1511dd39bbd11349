package sqlassign

import "context"

// The shipped code (86bca99) had no check that a SQLite store stays the file at its path (the
// red team's fix of its defect 2, sqlassign/identity.go, which also refuses a store in no file):
// these stand in for it, doing nothing, so that the proof sees the shipped guard of shared.go alone.

type fileIdentity struct{}

func (a *Assigner) holdFile(context.Context, string, string, string, func(error) bool) error {
	return nil
}

func (a *Assigner) checkFile() error { return nil }

func (a *Assigner) releaseFile() {}
