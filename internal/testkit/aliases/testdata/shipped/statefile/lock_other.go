// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

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
