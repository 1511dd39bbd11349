//go:build !unix

package statefile

import "os"

// lock does nothing where flock is missing: one state file per process is then up to the operator.
func lock(path string) (*os.File, error) { return nil, nil }
