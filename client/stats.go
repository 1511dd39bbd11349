package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Stats is the answer of GET /stats: pysnowflake's keys, then Snowfall's.
type Stats struct {
	DC               int64  `json:"dc"`     // 0 where the layout has no dc field
	Worker           int64  `json:"worker"` // 0 where the layout has no worker field
	Timestamp        int64  `json:"timestamp"`
	LastTimestamp    int64  `json:"last_timestamp"`
	Sequence         int64  `json:"sequence"`
	SequenceOverload uint64 `json:"sequence_overload"`
	Errors           uint64 `json:"errors"` // ID requests the server answered with 503

	Generator      *int64  `json:"generator,omitempty"` // for layouts with a gen field
	Layout         string  `json:"layout"`
	Spec           string  `json:"spec,omitempty"`
	EpochMs        int64   `json:"epoch_ms"`
	IDsGenerated   uint64  `json:"ids_generated"`
	UptimeS        float64 `json:"uptime_s"`
	ClockBackwards uint64  `json:"clock_backwards"`
	Fenced         string  `json:"fenced,omitempty"` // why the generator may not issue now
	Lease          *Lease  `json:"lease,omitempty"`  // where the server holds a lease
}

// Lease is the lease a server holds on its generator id.
type Lease struct {
	ID     int64     `json:"id"`
	Expiry time.Time `json:"expiry"`
	State  string    `json:"state"`
}

// UnmarshalJSON reads a lease whose expiry is RFC 3339 text or Unix milliseconds.
func (l *Lease) UnmarshalJSON(b []byte) error {
	var raw struct {
		ID     int64           `json:"id"`
		Expiry json.RawMessage `json:"expiry"`
		State  string          `json:"state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*l = Lease{ID: raw.ID, State: raw.State}
	switch e := raw.Expiry; {
	case len(e) == 0 || string(e) == "null":
	case e[0] == '"':
		if err := json.Unmarshal(e, &l.Expiry); err != nil {
			return fmt.Errorf("lease expiry: %w", err)
		}
	default:
		ms, err := strconv.ParseInt(string(e), 10, 64)
		if err != nil {
			return fmt.Errorf("lease expiry %s is neither RFC 3339 nor Unix milliseconds", clip(string(e)))
		}
		l.Expiry = time.UnixMilli(ms).UTC()
	}
	return nil
}
