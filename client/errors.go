package client

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/snowfall-go/snowfall"
)

// Errors returned by this package. Match them with errors.Is; the typed errors below carry details
// and still match their sentinel.
var (
	// ErrInvalidURL: a server address that is not an http or https URL with a host.
	ErrInvalidURL = errors.New("client: invalid server url")
	// ErrInvalidOption: an option value or argument out of its range.
	ErrInvalidOption = errors.New("client: invalid option")
	// ErrServer: a server answered with an error status (see ServerError).
	ErrServer = errors.New("client: server error")
	// ErrAllFailed: every server failed one call (see AllFailedError).
	ErrAllFailed = errors.New("client: all servers failed")
	// ErrBadResponse: a server answered 200 with a body that is not what the API promises.
	ErrBadResponse = errors.New("client: bad response")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrIDOrder: a server sent an ID at or below one of the same generator that the client had
	// received before (see OrderError).
	ErrIDOrder = errors.New("client: id not above an earlier id of its generator")
)

// OrderError reports an answer refused because one of its IDs was not above an ID of the same
// generator that the client had received from the same server before its request was sent, or
// repeated an ID received lately from any server (then Prev is ID), or was an old replay (dated
// more than the max skew back, at or below an ID of its generator from any server). It matches
// ErrIDOrder.
type OrderError struct {
	Server string      // the server's base URL
	ID     snowfall.ID // the ID refused
	Prev   snowfall.ID // the earlier ID of its generator, at or above ID
}

func (e *OrderError) Error() string {
	return fmt.Sprintf("client: %s sent ID %d, not above ID %d of the same generator received before: a replay or a broken server", e.Server, e.ID, e.Prev)
}

// Is reports whether target is ErrIDOrder.
func (e *OrderError) Is(target error) bool { return target == ErrIDOrder }

// maxMessage is the most bytes of a server's text an error carries.
const maxMessage = 512

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

// retryable reports whether the status says the server failed, whatever the request: 5xx, 429,
// and 3xx (a redirect, which the client does not follow). Other 4xx statuses may be about the
// request or about the server (a proxy's 404, an impostor): a call asks the other servers, and
// ends at once only when all of them refused alike (sameRefusal).
func (e *ServerError) retryable() bool {
	return e.Status >= 500 || e.Status == 429 || e.Status >= 300 && e.Status < 400
}

// Failure is one server's error within an AllFailedError.
type Failure struct {
	Server string
	Err    error
}

// AllFailedError reports that no server of a client with several servers answered one call: each
// server tried failed, or the call's context ended first (Cause). It carries each server's error in
// the order they failed, matches ErrAllFailed, and unwraps to those errors and to Cause, so
// errors.As finds a *ServerError among them and errors.Is finds context.DeadlineExceeded.
type AllFailedError struct {
	Op       string // the operation, such as "next id"
	Failures []Failure
	Servers  int   // how many servers the client has
	Cause    error // the call's context error when it ended the call; nil when every server failed
}

func (e *AllFailedError) Error() string {
	var b strings.Builder
	if e.Cause != nil {
		fmt.Fprintf(&b, "client: %s: no server answered (%d of %d asked) before: %v", e.Op, len(e.Failures), e.Servers, e.Cause)
	} else {
		fmt.Fprintf(&b, "client: %s: all %d servers failed", e.Op, len(e.Failures))
	}
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

// Unwrap returns each server's error, and Cause.
func (e *AllFailedError) Unwrap() []error {
	errs := make([]error, 0, len(e.Failures)+1)
	for _, f := range e.Failures {
		errs = append(errs, f.Err)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// clip shortens long server text for error messages that quote it with %q.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// clipped marks a server message cut at maxMessage bytes.
const clipped = "… (clipped)"

// printable returns a server's text fit for an error message and a log line: invalid UTF-8 becomes
// U+FFFD, control and format characters (C0, DEL, C1, bidirectional overrides, zero widths, line
// and paragraph separators) are written as Go escapes (\x1b, \u202e), and the result is cut to at
// most maxMessage bytes, at a character boundary, with a mark.
func printable(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\ufffd") {
		var part string
		switch {
		case r < 0x80 && (r < ' ' || r == 0x7f):
			part = fmt.Sprintf("\\x%02x", r)
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			part = fmt.Sprintf("\\u%04x", r)
		default:
			part = string(r)
		}
		if b.Len()+len(part) > maxMessage {
			b.WriteString(clipped)
			break
		}
		b.WriteString(part)
	}
	return b.String()
}
