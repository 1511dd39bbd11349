//go:build !linux

package statefile

import "os"

// syncDir syncs the directory of path: the text before its last separator, uncleaned, so that the
// kernel resolves ".." after a symbolic link as it did when opening the file. Where the file's last
// name is a symbolic link to another directory, that directory is not synced on these platforms.
func syncDir(_ *os.File, path string) error { return syncDirectory(parentOf(path)) }
