//go:build !unix

package statefile

import (
	"errors"
	"os"
)

// openFlags adds nothing where there is no flock.
const openFlags = 0

// errWouldBlock is never returned here.
var errWouldBlock = errors.New("statefile: lock held")

// errNotDir: fs.ErrNotExist covers these platforms' errors for a path that names nothing.
var errNotDir = errors.New("statefile: not a directory")

// lock does nothing where flock is missing (Windows, Plan 9, WebAssembly): two processes may then
// keep one state file, and one state file per process is up to the operator.
func lock(*os.File) error { return nil }
