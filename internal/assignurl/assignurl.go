// Package assignurl opens the snowfall.Assigner a URL names, for the commands: etcd:// URLs with
// etcdassign, every other URL (sqlite:, postgres:, mysql:) with sqlassign, whose three driver
// packages it imports.
package assignurl

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"    // mysql: and mariadb: URLs
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres" // postgres: URLs and keyword DSNs
	_ "github.com/snowfall-go/snowfall/sqlassign/sqlite"   // sqlite: URLs
)

// Store is an assigner opened from a URL.
type Store interface {
	snowfall.Assigner
	// Prepare makes the manifest ready for size generator ids (SQL rows; nothing on etcd).
	Prepare(ctx context.Context, size int64) error
	// Close closes the connections.
	Close() error
}

// isEtcd reports whether url names an etcd cluster.
func isEtcd(url string) bool {
	scheme, _, _ := strings.Cut(url, ":")
	return strings.EqualFold(scheme, "etcd")
}

// Parse parses raw, a store URL (sqlite:, postgres:, postgresql:, mysql:, mariadb:, etcd:, or
// PostgreSQL keyword/value pairs), without connecting, and returns it as a redact.URL, whose every
// rendering is its display form: the URL built from its parsed parts, without its password (see
// sqlassign.Redacted and etcdassign.Redacted). The error of a malformed URL is "not a valid database
// URL (value hidden): reason" (or etcd URL), with a reason that never quotes raw. Commands show a
// store in messages, logs and /stats through the redact.URL, never through raw.
func Parse(raw string) (redact.URL, error) {
	var display string
	var err error
	if isEtcd(raw) {
		display, err = etcdassign.Redacted(raw)
	} else {
		display, err = sqlassign.Redacted(raw)
	}
	if err != nil {
		var ie *redact.InvalidError
		if errors.As(err, &ie) {
			return redact.URL{}, fmt.Errorf("not a valid %s (value hidden): %w", ie.What, ie.Reason)
		}
		return redact.URL{}, err
	}
	return redact.New(raw, display), nil
}

// Check returns the error Open would return for a bad group name, without connecting: commands use
// it to tell a usage error from an unreachable store.
func Check(u redact.URL, group string) error {
	if isEtcd(u.Raw()) {
		return etcdassign.CheckURL(u.Raw(), group)
	}
	return sqlassign.CheckURL(u.Raw(), group)
}

// Open opens the manifest of group at u. Errors: those of etcdassign.Open or sqlassign.Open, which
// never quote the URL as given nor a driver's message. The result is safe for concurrent use.
func Open(ctx context.Context, u redact.URL, group string) (Store, error) {
	// A failed Open returns a nil Store, not a Store holding a nil pointer.
	if isEtcd(u.Raw()) {
		a, err := etcdassign.Open(ctx, u.Raw(), etcdassign.Options{Group: group})
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	a, err := sqlassign.Open(ctx, u.Raw(), sqlassign.Options{Group: group})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Describe names where s keeps its manifest, for messages: its tables or its etcd key prefix.
func Describe(s Store) string {
	switch s := s.(type) {
	case *sqlassign.Assigner:
		p, m := s.Tables()
		return p + " and " + m
	case *etcdassign.Assigner:
		return "etcd keys under " + s.Prefix()
	}
	return fmt.Sprintf("%T", s)
}
