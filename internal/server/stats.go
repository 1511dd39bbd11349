package server

import (
	"net/http"
	"time"
)

// statsBody is the answer of GET /stats: pysnowflake's keys first, then snowfall's.
type statsBody struct {
	DC               int64  `json:"dc"`     // 0 where the layout has no dc field
	Worker           int64  `json:"worker"` // 0 where the layout has no worker field
	Timestamp        int64  `json:"timestamp"`
	LastTimestamp    int64  `json:"last_timestamp"`
	Sequence         int64  `json:"sequence"`
	SequenceOverload uint64 `json:"sequence_overload"`
	Errors           uint64 `json:"errors"` // ID requests answered with 503

	Generator      *int64     `json:"generator,omitempty"`
	Layout         string     `json:"layout"`
	Spec           string     `json:"spec"`
	EpochMs        int64      `json:"epoch_ms"`
	IDsGenerated   uint64     `json:"ids_generated"`
	UptimeS        float64    `json:"uptime_s"`
	ClockBackwards uint64     `json:"clock_backwards"`
	Fenced         string     `json:"fenced,omitempty"`
	Lease          *leaseBody `json:"lease,omitempty"`
}

// stats returns a snapshot for /stats.
func (s *Server) stats() statsBody {
	st := s.src.Stats()
	b := statsBody{
		DC:               st.Node.DC,
		Worker:           st.Node.Worker,
		Timestamp:        st.Timestamp,
		LastTimestamp:    st.LastTimestamp,
		Sequence:         st.Sequence,
		SequenceOverload: st.SequenceOverloads,
		Errors:           s.refused.Load(),
		Layout:           s.name,
		Spec:             st.Spec,
		EpochMs:          st.EpochMs,
		IDsGenerated:     st.Issued,
		UptimeS:          s.now().Sub(s.started).Round(time.Millisecond).Seconds(),
		ClockBackwards:   st.ClockBackwards,
		Lease:            s.leaseBody(),
	}
	if st.Fenced != nil {
		b.Fenced = publicReason(st.Fenced, s.now())
	}
	if s.layout.Has(snowfallGen) {
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
