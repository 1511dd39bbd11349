package redact

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"net"
	"strconv"
	"syscall"
)

// Error is a failure of a driver, a client library or the network on the way to a store or server,
// told in the project's words: "<op> <display form>: <class>". The cause, whose text may repeat the
// URL as given, the user, the host or the password (drivers quote their DSN, net/url quotes the
// URL, a DNS error names what it looked up), is kept for errors.Is, errors.As and errors.Unwrap, so
// that a program can act on it; it is never part of the message, nor of %+v or %#v.
type Error struct {
	op, display, class string
	err                error
}

// Wrap returns an Error for err, a failure of operation op on the store or server shown as display
// (a display form: see URL), with its class from Classify(err, driver). It returns nil for nil.
func Wrap(op, display string, err error, driver func(error) string) error {
	if err == nil {
		return nil
	}
	return &Error{op: op, display: display, class: Classify(err, driver), err: err}
}

// Error returns the operation, the display form and the class of the cause.
func (e *Error) Error() string { return e.op + " " + e.display + ": " + e.class }

// GoString returns the message, for %#v.
func (e *Error) GoString() string { return "&redact.Error{" + strconv.Quote(e.Error()) + "}" }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.err }

// Class returns the class of the cause (see Classify).
func (e *Error) Class() string { return e.class }

// Classify names what went wrong in err in fixed words, which hold nothing of err's text: first as
// driver does (a driver package's classes: SQLSTATEs, MySQL error numbers, SQLite result codes,
// etcd errors; nil or "" for none), then for the network, TLS, files and deadlines. What it does not
// recognise is "failed", with a note that the driver's message is withheld.
func Classify(err error, driver func(error) string) string {
	if driver != nil {
		if s := driver(err); s != "" {
			return s
		}
	}
	var (
		dns      *net.DNSError
		errno    syscall.Errno
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &dns):
		switch {
		case dns.IsNotFound:
			return "host not found (DNS)"
		case dns.IsTimeout:
			return "DNS lookup timed out"
		}
		return "DNS lookup failed"
	case errors.As(err, &errno):
		switch errno {
		case syscall.ECONNREFUSED:
			return "connection refused"
		case syscall.ECONNRESET, syscall.EPIPE:
			return "connection reset"
		case syscall.ETIMEDOUT:
			return "connection timed out"
		case syscall.EHOSTUNREACH, syscall.ENETUNREACH:
			return "host unreachable"
		case syscall.EADDRNOTAVAIL:
			return "address not available"
		}
		return "system error: " + errno.Error() // the C library's fixed text for the number
	case errors.As(err, &unknown):
		return "TLS: the server's certificate is signed by an unknown authority"
	case errors.As(err, &hostname):
		return "TLS: the server's certificate is not valid for its host name"
	case errors.As(err, &invalid):
		return "TLS: the server's certificate is not valid"
	case errors.As(err, &record):
		return "TLS: the server does not answer in TLS"
	case errors.As(err, &alert):
		return "TLS: the server sent " + alert.Error() // the alert's fixed name
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection"
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return "failed (the driver's message is not shown: it may repeat the URL; programs can read it through errors.Unwrap)"
}
