// Package redact keeps the passwords of store and server URLs out of everything the project
// prints, by construction rather than by scrubbing text:
//
//   - A URL that may hold a password is held in a URL, whose every rendering (String, Format for
//     every verb, GoString, LogValue, MarshalText, MarshalJSON) is its display form: one that its
//     parser built from the parts it parsed (scheme, user, hosts, path, and parameters known to hold
//     no secret), with the password left out. Nothing renders the text as given.
//   - ParseURL refuses the shapes in which a password's characters would end up in another part
//     of a parsed URL (an '@' after the host, a '#'), and its errors, like every parser's of the
//     project, say what is wrong in fixed words: they never quote the value.
//   - An Error stands for a failure of a driver or of the network: its message is the operation,
//     the display form and a class of cause (Classify) in fixed words; the cause itself, whose text
//     may repeat the URL, is reachable through errors.Unwrap, errors.Is and errors.As, never printed.
package redact

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
)

// Mask stands for a password in a display form.
const Mask = "xxxxx"

// URL is a URL or DSN that may hold a password. Its zero value is no URL. The text is held by a
// closure: fmt prints what it cannot call methods on (a URL in an unexported struct field) field by
// field, and follows a pointer to print what it points to (for a verb that does not fit), but it
// prints a function as its address.
type URL struct{ get func() (raw, display string) }

// New returns a URL whose text is raw and whose every rendering is display. Only parsers call it,
// with a display form they built from the parts they parsed, without the password.
func New(raw, display string) URL {
	return URL{func() (string, string) { return raw, display }}
}

// Raw returns the URL as given, password included: to connect with, never to print.
func (u URL) Raw() string {
	if u.get == nil {
		return ""
	}
	raw, _ := u.get()
	return raw
}

// IsZero reports whether u is no URL.
func (u URL) IsZero() bool { return u.get == nil }

// String returns the display form.
func (u URL) String() string {
	if u.get == nil {
		return ""
	}
	_, display := u.get()
	return display
}

// Format writes the display form for every verb; %q quotes it.
func (u URL) Format(f fmt.State, verb rune) {
	s := u.String()
	if verb == 'q' {
		s = strconv.Quote(s)
	}
	io.WriteString(f, s)
}

// GoString returns the display form, for %#v.
func (u URL) GoString() string { return "redact.URL(" + strconv.Quote(u.String()) + ")" }

// LogValue returns the display form, for log/slog.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// MarshalText returns the display form.
func (u URL) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// MarshalJSON returns the display form as a JSON string.
func (u URL) MarshalJSON() ([]byte, error) { return json.Marshal(u.String()) }
