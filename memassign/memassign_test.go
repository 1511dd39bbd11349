package memassign_test

import (
	"errors"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/leasetest"
	"github.com/snowfall-go/snowfall/memassign"
)

func TestSuite(t *testing.T) {
	leasetest.Run(t, leasetest.Backend{
		New: func(t *testing.T) snowfall.Assigner { return memassign.New(nil) },
		Faulty: func(t *testing.T) (snowfall.Assigner, func(), func()) {
			a := memassign.New(nil)
			return a, func() { a.Fail(errors.New("store unreachable")) }, func() { a.Fail(nil) }
		},
	})
}
