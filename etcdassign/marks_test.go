package etcdassign_test

import (
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/raisetest"
)

// TestRaiseMarks runs the raise-marks checks on the test cluster.
func TestRaiseMarks(t *testing.T) {
	raisetest.Run(t, func(t *testing.T) raisetest.Store { return open(t, etcdURL(), group()) })
}
