package memassign_test

import (
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/raisetest"
	"github.com/snowfall-go/snowfall/memassign"
)

func TestRaiseMarks(t *testing.T) {
	raisetest.Run(t, func(t *testing.T) raisetest.Store { return memassign.New(nil) })
}
