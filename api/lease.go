package api

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Lease is the "lease" object of Stats: the lease a server holds on its generator id. Times are by
// the server's clock and written as snowfall.TimeFormat in UTC; Expiry is written as "" when zero,
// Mark and LastRenewal are left out when zero. Reading also accepts Unix milliseconds for the times,
// as some pysnowflake-compatible servers send them.
type Lease struct {
	ID          int64               // key "id": the generator id held, or -1
	State       snowfall.LeaseState // key "state": "held", "fenced" (renewals failing), "lost" (claiming again), "closed" or "acquiring" (none held yet)
	Expiry      time.Time           // key "expiry": when the lease ends at the earliest, while held or fenced; zero when there is none (acquiring, lost, closed)
	ExpiresInS  float64             // key "expires_in_s": seconds from the answer to Expiry, to the millisecond; 0 once past, and when there is no Expiry
	Mark        time.Time           // key "mark": the high-water mark recorded last; zero when none was
	Renewals    uint64              // key "renewals": successful renewals
	Failures    uint64              // key "failures": failed renewal or claim attempts
	Losses      uint64              // key "losses": tenures lost to another holder or to expiry
	LastRenewal time.Time           // key "last_renewal": the start of the last successful renewal; zero when none
	LastError   string              // key "last_error": while not held, what is wrong, in public words
}

// leaseText is Lease as it is written.
type leaseText struct {
	ID          int64               `json:"id"`
	State       snowfall.LeaseState `json:"state"`
	Expiry      string              `json:"expiry"`
	ExpiresInS  float64             `json:"expires_in_s"`
	Mark        string              `json:"mark,omitempty"`
	Renewals    uint64              `json:"renewals"`
	Failures    uint64              `json:"failures"`
	Losses      uint64              `json:"losses"`
	LastRenewal string              `json:"last_renewal,omitempty"`
	LastError   string              `json:"last_error,omitempty"`
}

// leaseRead is Lease as it is read: a time may be text or a number.
type leaseRead struct {
	ID          int64               `json:"id"`
	State       snowfall.LeaseState `json:"state"`
	Expiry      json.RawMessage     `json:"expiry"`
	ExpiresInS  float64             `json:"expires_in_s"`
	Mark        json.RawMessage     `json:"mark"`
	Renewals    uint64              `json:"renewals"`
	Failures    uint64              `json:"failures"`
	Losses      uint64              `json:"losses"`
	LastRenewal json.RawMessage     `json:"last_renewal"`
	LastError   string              `json:"last_error"`
}

// MarshalJSON writes l with its times as snowfall.TimeFormat in UTC.
func (l Lease) MarshalJSON() ([]byte, error) {
	return json.Marshal(leaseText{
		ID:          l.ID,
		State:       l.State,
		Expiry:      formatTime(l.Expiry),
		ExpiresInS:  l.ExpiresInS,
		Mark:        formatTime(l.Mark),
		Renewals:    l.Renewals,
		Failures:    l.Failures,
		Losses:      l.Losses,
		LastRenewal: formatTime(l.LastRenewal),
		LastError:   l.LastError,
	})
}

// UnmarshalJSON reads a lease whose times are RFC 3339 text or Unix milliseconds; a time that is
// absent, null or "" is zero.
func (l *Lease) UnmarshalJSON(b []byte) error {
	var r leaseRead
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	v := Lease{ID: r.ID, State: r.State, ExpiresInS: r.ExpiresInS, Renewals: r.Renewals, Failures: r.Failures,
		Losses: r.Losses, LastError: r.LastError}
	for _, t := range []struct {
		key string
		raw json.RawMessage
		dst *time.Time
	}{{"expiry", r.Expiry, &v.Expiry}, {"mark", r.Mark, &v.Mark}, {"last_renewal", r.LastRenewal, &v.LastRenewal}} {
		var err error
		if *t.dst, err = parseTime(t.raw); err != nil {
			return fmt.Errorf("api: lease %s: %w", t.key, err)
		}
	}
	*l = v
	return nil
}

// formatTime writes t as snowfall.TimeFormat in UTC, and the zero time as "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(snowfall.TimeFormat)
}

// parseTime reads a JSON time: RFC 3339 text, or an integer of Unix milliseconds. Absent, null and
// "" are the zero time. Times outside the years 0000 to 9999, which RFC 3339 cannot write, are
// errors.
func parseTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, err
		}
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", clip(s))
		}
		return t.UTC(), nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is neither RFC 3339 text nor Unix milliseconds", clip(string(raw)))
	}
	t := time.UnixMilli(ms).UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, fmt.Errorf("%d Unix milliseconds is outside the years 0000 to 9999", ms)
	}
	return t, nil
}

// clip shortens text quoted in error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
