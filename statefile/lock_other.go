//go:build !unix

package statefile

import (
	"io/fs"
	"os"
)

// lock does nothing where flock is missing: one state file per process is then up to the operator.
func lock(path string) (*os.File, error) { return nil, nil }

// links cannot count hard links here: it reports one.
func links(fs.FileInfo) uint64 { return 1 }
