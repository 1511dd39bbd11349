// Package cli holds what the commands share: flags that can also come from the environment, the
// parsing of a command line (usage, leftover arguments), the flags for a layout and node values, a
// lease database and a listen address, and the mapping of errors to exit codes.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitRuntime = 1
	ExitUsage   = 2
)

// UsageError is a mistake in a command line or in an environment variable standing for a flag. It
// makes a command exit 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Errorf(format, args...)}
}

// ExitCode maps an error from a command to its exit code.
func ExitCode(err error) int {
	var ue *UsageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	}
	return ExitRuntime
}

// IO is where a command reads and writes.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
	// Guard returns w behind the run's guard, as Out and Err are (a log file): set by Guarded, nil
	// outside it. A command that writes anywhere else than Out and Err refuses to without it.
	Guard func(w io.Writer) io.Writer
}

// StdIO returns the process's standard streams and environment.
func StdIO() IO { return IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv} }

// Command is one subcommand.
type Command interface {
	Name() string
	Synopsis() string
	Run(ctx context.Context, args []string, io IO) error
}
