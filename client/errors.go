package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by this package. Match them with errors.Is; the typed errors below carry details
// and still match their sentinel.
var (
	// ErrInvalidURL: a server address that is not an http or https URL with a host.
	ErrInvalidURL = errors.New("client: invalid server url")
	// ErrInvalidOption: an option value out of its range.
	ErrInvalidOption = errors.New("client: invalid option")
	// ErrServer: a server answered with an error status (see ServerError).
	ErrServer = errors.New("client: server error")
	// ErrAllFailed: every server failed one call (see AllFailedError).
	ErrAllFailed = errors.New("client: all servers failed")
	// ErrBadResponse: a server answered 200 with a body that is not what the API promises.
	ErrBadResponse = errors.New("client: bad response")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
)

// ServerError is an error status from a server, with the message of its api.Error body. It
// matches ErrServer.
type ServerError struct {
	Server     string        // the server's base URL
	Status     int           // the HTTP status code
	Message    string        // the server's error message, or the status text when the body had none
	RetryAfter time.Duration // the Retry-After header, zero when absent
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("client: %s answered %d: %s", e.Server, e.Status, e.Message)
}

// Is reports whether target is ErrServer.
func (e *ServerError) Is(target error) bool { return target == ErrServer }

// retryable reports whether another server may succeed where this one failed: 5xx and 429.
func (e *ServerError) retryable() bool {
	return e.Status >= 500 || e.Status == 429
}

// Failure is one server's error within an AllFailedError.
type Failure struct {
	Server string
	Err    error
}

// AllFailedError reports that every server of a client with several servers failed one call. It
// carries each server's error in the order they were tried, matches ErrAllFailed, and unwraps to
// those errors, so errors.As finds a *ServerError among them.
type AllFailedError struct {
	Op       string // the operation, such as "next id"
	Failures []Failure
}

func (e *AllFailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: %s: all %d servers failed", e.Op, len(e.Failures))
	for i, f := range e.Failures {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", f.Server, f.Err)
	}
	return b.String()
}

// Is reports whether target is ErrAllFailed.
func (e *AllFailedError) Is(target error) bool { return target == ErrAllFailed }

// Unwrap returns each server's error.
func (e *AllFailedError) Unwrap() []error {
	errs := make([]error, len(e.Failures))
	for i, f := range e.Failures {
		errs[i] = f.Err
	}
	return errs
}

// clip shortens long server text for error messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
