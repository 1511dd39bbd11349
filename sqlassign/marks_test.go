package sqlassign_test

import (
	"path/filepath"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/raisetest"
)

// TestRaiseMarks runs the raise-marks checks on SQLite, PostgreSQL and MariaDB.
func TestRaiseMarks(t *testing.T) {
	for name, u := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "leases.db") },
		"postgres": func(*testing.T) string { return postgresURL() },
		"mysql":    func(*testing.T) string { return mysqlURL() },
	} {
		t.Run(name, func(t *testing.T) {
			raisetest.Run(t, func(t *testing.T) raisetest.Store { return open(t, u(t), group()) })
		})
	}
}
