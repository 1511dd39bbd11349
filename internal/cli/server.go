package cli

import (
	"errors"
	"net/url"
	"strings"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// ServerURL is the value of --server, an ID server's base URL: http:// or https://, or host:port
// for http, with an optional path prefix, and no query or fragment. It may hold a user and password
// (probe sends them). The value lives only inside a redact.URL, whose every rendering is
// scheme://[user:xxxxx@]host[:port][/path]; a value that does not parse is kept nowhere, only the
// reason, in fixed words. Set never fails (the flag package would quote the value in its error):
// Err reports a bad value.
type ServerURL struct {
	u   redact.URL
	err error
}

// String returns the display form ("" when unset or malformed).
func (s *ServerURL) String() string {
	if s == nil {
		return ""
	}
	return s.u.String()
}

// Set parses v; an error is kept for Err.
func (s *ServerURL) Set(v string) error {
	s.u, s.err = redact.URL{}, nil
	u, _, err := ParseServerURL(v)
	if err != nil {
		s.err = err
		return nil
	}
	s.u = u
	return nil
}

func (s *ServerURL) holdsSecret() {}

// URL returns the parsed URL: zero when malformed.
func (s *ServerURL) URL() redact.URL { return s.u }

// Err returns why the value does not parse, or nil.
func (s *ServerURL) Err() error { return s.err }

// Parsed returns the parsed URL, password included, to make requests with: never for a message.
func (s *ServerURL) Parsed() *url.URL {
	_, u, _ := ParseServerURL(s.u.Raw())
	return u
}

// HasUser reports whether the URL holds a user or password.
func (s *ServerURL) HasUser() bool {
	u := s.Parsed()
	return u != nil && u.User != nil
}

// ParseServerURL parses a server's base URL (see ServerURL). Its errors never quote raw.
func ParseServerURL(raw string) (redact.URL, *url.URL, error) {
	if raw == "" {
		return redact.URL{}, nil, &redact.InvalidError{What: "server URL", Reason: errors.New("it is empty")}
	}
	s := raw
	if !strings.Contains(s, "://") {
		s = "http://" + s // host:port
	}
	u, q, err := redact.ParseURL(s)
	if err != nil {
		return redact.URL{}, nil, &redact.InvalidError{What: "server URL", Reason: err}
	}
	switch {
	case !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https"):
		err = errors.New("its scheme is not http or https")
	case u.Hostname() == "":
		err = errors.New("it has no host")
	case u.RawQuery != "" || u.ForceQuery || len(q) > 0:
		err = errors.New("it holds a query ('?'): --server is the server's base URL (http://host:port), and a probe's path is an argument")
	}
	if err != nil {
		return redact.URL{}, nil, &redact.InvalidError{What: "server URL", Reason: err}
	}
	u.Scheme = strings.ToLower(u.Scheme)
	return redact.New(s, redact.Display(u, nil, nil, nil)), u, nil
}
