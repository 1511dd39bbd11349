//go:build !linux

package sqlassign

// mountRoot reports false: other systems cannot bind-mount a single file (macOS has no bind
// mounts; BSD's nullfs mounts directories).
func mountRoot(string) (bool, error) { return false, nil }
