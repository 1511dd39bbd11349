package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// leaser is implemented by sources that hold their generator id on a lease (*snowfall.Leased).
type leaser interface {
	Lease() snowfall.LeaseStatus
}

// leaseStats returns the lease for /stats, or nil when the source holds none.
func (s *Server) leaseStats() *api.Lease {
	if s.lease == nil {
		return nil
	}
	st := s.lease.Lease()
	expiry, left := s.expiry(st)
	l := &api.Lease{
		ID:          st.GeneratorID,
		State:       st.State,
		Expiry:      expiry,
		ExpiresInS:  left.Seconds(),
		Mark:        st.Mark,
		Renewals:    st.Renewals,
		Failures:    st.Failures,
		Losses:      st.Losses,
		LastRenewal: st.LastRenewal,
	}
	if st.State != snowfall.LeaseHeld { // an error that has been recovered from is history, and the log has it
		l.LastError = publicReason(&leaseError{state: st.State, cause: st.LastError}, s.now())
	}
	return l
}

// expiry returns when the lease this server holds ends at the earliest, and the time left until
// then to the millisecond, never negative: 0 once it passed. A lease is held, for this purpose,
// while held or fenced (renewals failing, the tenure not given up); while acquiring, after a loss
// and once closed there is none: the zero time and 0, whatever expiry an old tenure had.
func (s *Server) expiry(st snowfall.LeaseStatus) (time.Time, time.Duration) {
	if st.State != snowfall.LeaseHeld && st.State != snowfall.LeaseFenced || st.Expires.IsZero() {
		return time.Time{}, 0
	}
	return st.Expires, max(st.Expires.Sub(s.now()).Round(time.Millisecond), 0)
}

var (
	descLeaseState = prometheus.NewDesc("snowfall_lease_state",
		"1 for the lease's current state (held, fenced, lost, closed, acquiring), 0 for the others.", []string{"state"}, nil)
	descLeaseGenerator = prometheus.NewDesc("snowfall_lease_generator",
		"The generator id held, or -1.", nil, nil)
	descLeaseRenewals = prometheus.NewDesc("snowfall_lease_renewals_total",
		"Successful lease renewals.", nil, nil)
	descLeaseFailures = prometheus.NewDesc("snowfall_lease_failures_total",
		"Failed lease renewals or claims.", nil, nil)
	descLeaseLosses = prometheus.NewDesc("snowfall_lease_losses_total",
		"Tenures lost to another holder or to expiry.", nil, nil)
	descLeaseExpiry = prometheus.NewDesc("snowfall_lease_expiry_seconds",
		"Seconds until the lease held (or fenced) expires at the earliest, by the local clock; 0 once past, and while acquiring, lost or closed.", nil, nil)
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
	ch <- prometheus.MustNewConstMetric(descLeaseGenerator, prometheus.GaugeValue, float64(st.GeneratorID))
	ch <- prometheus.MustNewConstMetric(descLeaseRenewals, prometheus.CounterValue, float64(st.Renewals))
	ch <- prometheus.MustNewConstMetric(descLeaseFailures, prometheus.CounterValue, float64(st.Failures))
	ch <- prometheus.MustNewConstMetric(descLeaseLosses, prometheus.CounterValue, float64(st.Losses))
	_, left := s.expiry(st)
	ch <- prometheus.MustNewConstMetric(descLeaseExpiry, prometheus.GaugeValue, left.Seconds())
}
