package snowfall

import (
	"fmt"
	"strings"
	"time"
)

// Parts are the decoded fields of an ID.
type Parts struct {
	ID       ID
	Tick     int64     // the time field: units since the epoch
	Time     time.Time // the instant the tick starts, UTC
	Sequence int64
	Node
}

// UnixMilli returns the decoded time in Unix milliseconds.
func (p Parts) UnixMilli() int64 { return p.Time.UnixMilli() }

// Decode splits id into its fields. A negative id is an error wrapping ErrInvalidID.
func (l Layout) Decode(id ID) (Parts, error) {
	l = l.orDefault()
	if id < 0 {
		return Parts{}, fmt.Errorf("%w: %d is negative", ErrInvalidID, int64(id))
	}
	field := func(k FieldKind) int64 {
		s := l.shift(k)
		if s < 0 {
			return 0
		}
		return int64(id) >> s & l.Max(k)
	}
	p := Parts{ID: id, Tick: field(FieldTime), Sequence: field(FieldSequence)}
	p.Time = l.TickTime(p.Tick)
	p.Generator, p.DC, p.Worker = field(FieldGenerator), field(FieldDC), field(FieldWorker)
	return p, nil
}

// Decoded is the JSON form of a decoded ID, as printed by snowfall decode and served by
// GET /decode/{id}: generator for layouts with a gen field, dc and worker for the others.
type Decoded struct {
	ID        ID     `json:"id"`
	UnixMs    int64  `json:"unix_ms"`
	Time      string `json:"time"` // RFC 3339, UTC, with milliseconds
	Sequence  int64  `json:"sequence"`
	Generator *int64 `json:"generator,omitempty"`
	DC        *int64 `json:"dc,omitempty"`
	Worker    *int64 `json:"worker,omitempty"`
}

// TimeFormat is RFC 3339 with milliseconds, as used in Decoded.Time.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Describe returns the JSON form of p under l.
func (l Layout) Describe(p Parts) Decoded {
	d := Decoded{ID: p.ID, UnixMs: p.UnixMilli(), Time: p.Time.UTC().Format(TimeFormat), Sequence: p.Sequence}
	if l.Has(FieldGenerator) {
		d.Generator = &p.Generator
	} else {
		d.DC, d.Worker = &p.DC, &p.Worker
	}
	return d
}

// DecodeString parses an ID in decimal (or, failing that, in the fixed-width base32 or base58 forms)
// and decodes it under l. Errors wrap ErrInvalidID and name the input.
func DecodeString(l Layout, s string) (Decoded, error) {
	id, err := ParseAny(s)
	if err != nil {
		return Decoded{}, err
	}
	p, err := l.Decode(id)
	if err != nil {
		return Decoded{}, err
	}
	return l.orDefault().Describe(p), nil
}

// ParseAny parses an ID in decimal, or in base32 when it is 13 characters wide, or base58 when 11
// wide and not all digits. Text of digits only is always read as decimal, even when it is also a
// valid base32 or base58 form; the prefixes "base32:", "base58:" and "decimal:" name the encoding
// explicitly and remove the ambiguity. Errors wrap ErrInvalidID.
func ParseAny(s string) (ID, error) {
	switch {
	case strings.HasPrefix(s, "base32:"):
		return ParseBase32(s[len("base32:"):])
	case strings.HasPrefix(s, "base58:"):
		return ParseBase58(s[len("base58:"):])
	case strings.HasPrefix(s, "decimal:"):
		return ParseID(s[len("decimal:"):])
	}
	if id, err := ParseID(s); err == nil {
		return id, nil
	} else if len(s) != Base32Len && len(s) != Base58Len {
		return 0, err
	}
	if len(s) == Base32Len {
		return ParseBase32(s)
	}
	return ParseBase58(s)
}
