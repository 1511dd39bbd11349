package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/snowfall-go/snowfall"
)

const snowfallGen = snowfall.FieldGenerator

// leaser is implemented by sources that hold their generator id on a lease (*snowfall.Leased).
type leaser interface {
	Lease() snowfall.LeaseStatus
}

// leaseBody is the "lease" object of /stats.
type leaseBody struct {
	Generator   int64   `json:"id"`
	State       string  `json:"state"`
	Expires     string  `json:"expiry"` // RFC 3339, UTC, by the local clock
	ExpiresInS  float64 `json:"expires_in_s"`
	Mark        string  `json:"mark,omitempty"`
	Renewals    uint64  `json:"renewals"`
	Failures    uint64  `json:"failures"`
	Losses      uint64  `json:"losses"`
	LastRenewal string  `json:"last_renewal,omitempty"`
	LastError   string  `json:"last_error,omitempty"` // while not held: what is wrong, in public words
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(snowfall.TimeFormat)
}

func (s *Server) leaseBody() *leaseBody {
	if s.lease == nil {
		return nil
	}
	st := s.lease.Lease()
	b := &leaseBody{
		Generator:   st.Generator,
		State:       string(st.State),
		Expires:     formatTime(st.Expires),
		ExpiresInS:  st.Expires.Sub(s.now()).Round(time.Millisecond).Seconds(),
		Mark:        formatTime(st.Mark),
		Renewals:    st.Renewals,
		Failures:    st.Failures,
		Losses:      st.Losses,
		LastRenewal: formatTime(st.LastRenewal),
	}
	if st.State != snowfall.LeaseHeld { // an error that has been recovered from is history, and the log has it
		b.LastError = publicReason(&leaseError{state: string(st.State), cause: st.LastError}, s.now())
	}
	return b
}

var (
	descLeaseState = prometheus.NewDesc("snowfall_lease_state",
		"1 for the lease's current state (held, fenced, lost, closed), 0 for the others.", []string{"state"}, nil)
	descLeaseGenerator = prometheus.NewDesc("snowfall_lease_generator",
		"The generator id held, or -1.", nil, nil)
	descLeaseRenewals = prometheus.NewDesc("snowfall_lease_renewals_total",
		"Successful lease renewals.", nil, nil)
	descLeaseFailures = prometheus.NewDesc("snowfall_lease_failures_total",
		"Failed lease renewals or claims.", nil, nil)
	descLeaseLosses = prometheus.NewDesc("snowfall_lease_losses_total",
		"Tenures lost to another holder or to expiry.", nil, nil)
	descLeaseExpiry = prometheus.NewDesc("snowfall_lease_expiry_seconds",
		"Seconds until the lease expires at the earliest, by the local clock (negative once past).", nil, nil)
)

func describeLease(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeaseState, descLeaseGenerator, descLeaseRenewals, descLeaseFailures, descLeaseLosses, descLeaseExpiry} {
		ch <- d
	}
}

func (s *Server) collectLease(ch chan<- prometheus.Metric) {
	if s.lease == nil {
		return
	}
	st := s.lease.Lease()
	for _, state := range snowfall.LeaseStates() { // one series for each state
		v := 0.0
		if st.State == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descLeaseState, prometheus.GaugeValue, v, string(state))
	}
	ch <- prometheus.MustNewConstMetric(descLeaseGenerator, prometheus.GaugeValue, float64(st.Generator))
	ch <- prometheus.MustNewConstMetric(descLeaseRenewals, prometheus.CounterValue, float64(st.Renewals))
	ch <- prometheus.MustNewConstMetric(descLeaseFailures, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(descLeaseLosses, prometheus.CounterValue, float64(st.Losses))
	ch <- prometheus.MustNewConstMetric(descLeaseExpiry, prometheus.GaugeValue, st.Expires.Sub(s.now()).Seconds())
}
