package server

import (
	"net/http"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// stats returns a snapshot for /stats.
func (s *Server) stats() api.Stats {
	st := s.src.Stats()
	l := s.src.Layout()
	b := api.Stats{
		DC:               st.Node.DC,
		Worker:           st.Node.Worker,
		Timestamp:        st.Timestamp,
		LastTimestamp:    st.LastTimestamp,
		Sequence:         st.Sequence,
		SequenceOverload: st.SequenceOverloads,
		Errors:           s.refused.Load(),
		Layout:           l.Name(),
		Spec:             st.Spec,
		EpochMs:          st.EpochMs,
		IDsGenerated:     st.Issued,
		UptimeS:          s.now().Sub(s.started).Round(time.Millisecond).Seconds(),
		ClockBackwards:   st.ClockBackwards,
		Lease:            s.leaseStats(),
	}
	if st.Fenced != nil {
		err := st.Fenced
		if le := s.leaseAcquiring(); le != nil {
			err = le // "fenced" would say that a lease was held
		}
		b.Fenced = publicReason(err, s.now())
	}
	switch {
	case l.IsZero(): // not known yet
		b.Layout = ""
	case l.Has(snowfall.FieldGenerator):
		g := st.Node.Generator
		b.Generator = &g
	}
	return b
}

// serveStats answers GET /stats.
func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) int {
	w.Header()["Cache-Control"] = noStore
	return writeJSON(w, http.StatusOK, s.stats())
}
