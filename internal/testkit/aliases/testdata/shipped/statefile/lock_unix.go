// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

//go:build unix

package statefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on path+".lock", so that two processes on one host cannot
// keep the same state file; the lock goes with the process, however it ends. path must be resolved
// (see resolve), so that every name of the file shares its lock.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0o644)
	if err != nil {
		return nil, fmt.Errorf("statefile: lock: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("statefile: lock: %s.lock is not a regular file", path)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is kept by another process", ErrInUse, path)
		}
		return nil, fmt.Errorf("statefile: lock %s: %w", path, err)
	}
	return f, nil
}

// links returns how many names (hard links) the file of fi has.
func links(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
