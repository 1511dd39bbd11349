//go:build unix

package statefile

import (
	"os"
	"syscall"
)

// openFlags: a FIFO must not block the open (it is then refused as not a regular file).
const openFlags = syscall.O_NONBLOCK

// errWouldBlock is the error of a lock another open file holds.
var errWouldBlock error = syscall.EWOULDBLOCK

// errNotDir is the error of a path whose directory part names a file: the path names nothing.
var errNotDir error = syscall.ENOTDIR

// lock takes an exclusive flock on the open file f itself, without waiting: the lock belongs to the
// file (its inode), whatever name opened it, and goes with the process however it ends.
func lock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}
