//go:build unix

package idsource

import "syscall"

// writable returns an error when this process may not create files in dir.
func writable(dir string) error { return syscall.Access(dir, 2) } // W_OK
