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
	b := api.Stats{
		DC:               st.Node.DC,
		Worker:           st.Node.Worker,
		Timestamp:        st.Timestamp,
		LastTimestamp:    st.LastTimestamp,
		Sequence:         st.Sequence,
		SequenceOverload: st.SequenceOverloads,
		Errors:           s.refused.Load(),
		Layout:           s.layout.Name(),
		Spec:             st.Spec,
		EpochMs:          st.EpochMs,
		IDsGenerated:     st.Issued,
		UptimeS:          s.now().Sub(s.started).Round(time.Millisecond).Seconds(),
		ClockBackwards:   st.ClockBackwards,
		UniqueAmong:      s.unique,
		Lease:            s.leaseStats(),
	}
	if st.Fenced != nil {
		b.Fenced = publicReason(st.Fenced, s.now())
	}
	if s.layout.Has(snowfall.FieldGenerator) {
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
