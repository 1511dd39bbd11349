//go:build unix

package statefile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lock takes an exclusive advisory lock on path+".lock", so that two processes on one host cannot
// keep the same state file; the lock goes with the process, however it ends.
func lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("statefile: lock: %w", err)
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
