// Package assignurl opens the snowfall.Assigner a URL names, for the commands: etcd:// URLs with
// etcdassign, every other URL (sqlite:, postgres:, mysql:) with sqlassign, whose three driver
// packages it imports.
package assignurl

import (
	"context"
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

// Check returns the error Open would return for a malformed url or a bad group name, without
// connecting: commands use it to tell a usage error from an unreachable store.
func Check(url, group string) error {
	if isEtcd(url) {
		return etcdassign.CheckURL(url, group)
	}
	return sqlassign.CheckURL(url, group)
}

// Open opens the manifest of group at url. Errors: those of etcdassign.Open or sqlassign.Open.
// The result is safe for concurrent use.
func Open(ctx context.Context, url, group string) (Store, error) {
	// A failed Open returns a nil Store, not a Store holding a nil pointer.
	if isEtcd(url) {
		a, err := etcdassign.Open(ctx, url, etcdassign.Options{Group: group})
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	a, err := sqlassign.Open(ctx, url, sqlassign.Options{Group: group})
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

// Redact returns url with its password replaced by xxxxx, for messages, whatever its form.
func Redact(url string) string { return redact.DSN(url) }
