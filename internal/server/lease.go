package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/snowfall-go/snowfall"
)

const snowfallGen = snowfall.FieldGenerator

// leaser is implemented by sources that hold their generator id on a lease.
type leaser interface {
	leaseStub()
}

// leaseBody is the "lease" object of /stats.
type leaseBody struct{}

func (s *Server) leaseBody() *leaseBody { return nil }

// leaseProblem returns why the lease does not let the source issue, or "".
func (s *Server) leaseProblem() string { return "" }

func describeLease(ch chan<- *prometheus.Desc) {}

func (s *Server) collectLease(ch chan<- prometheus.Metric) {}
