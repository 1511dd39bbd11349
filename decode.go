package snowfall

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Decoded holds the fields of an ID under a layout, as Layout.Decode and DecodeString return them.
// Its JSON form is what snowfall decode prints and GET /decode/{id} serves:
//
//	{"id":"1825382944768802815","unix_ms":1795439404004,"time":"2026-11-23T13:10:04.004Z","sequence":7,"generator":2047}
//
// with generator for a layout with a gen field, and dc and worker in its place for the others. (A
// Decoded made otherwise than by Decode, DecodeString or UnmarshalJSON shows generator.)
type Decoded struct {
	ID        ID
	Time      time.Time // the instant the ID's tick starts, UTC
	Sequence  int64
	Generator int64 // for a layout with a gen field
	DC        int64 // for a layout with dc and worker fields
	Worker    int64
	dcWorker  bool // the layout has dc and worker fields, not gen
}

// Node returns the node values, as Compose takes them.
func (d Decoded) Node() Node { return Node{Generator: d.Generator, DC: d.DC, Worker: d.Worker} }

// UnixMilli returns the decoded time in Unix milliseconds.
func (d Decoded) UnixMilli() int64 { return d.Time.UnixMilli() }

// TimeFormat is RFC 3339 with milliseconds, as used in the time key of a Decoded's JSON.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// decodedJSON is the JSON form of a Decoded.
type decodedJSON struct {
	ID        ID     `json:"id"`
	UnixMs    int64  `json:"unix_ms"`
	Time      string `json:"time"` // TimeFormat, UTC
	Sequence  int64  `json:"sequence"`
	Generator *int64 `json:"generator,omitempty"`
	DC        *int64 `json:"dc,omitempty"`
	Worker    *int64 `json:"worker,omitempty"`
}

// MarshalJSON returns the JSON form: id (a string), unix_ms, time, sequence, then generator, or dc
// and worker.
func (d Decoded) MarshalJSON() ([]byte, error) {
	j := decodedJSON{ID: d.ID, UnixMs: d.UnixMilli(), Time: d.Time.UTC().Format(TimeFormat), Sequence: d.Sequence}
	if d.dcWorker {
		j.DC, j.Worker = &d.DC, &d.Worker
	} else {
		j.Generator = &d.Generator
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the JSON form; the time comes from unix_ms.
func (d *Decoded) UnmarshalJSON(b []byte) error {
	var j decodedJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fmt.Errorf("snowfall: decoded ID: %w", err)
	}
	*d = Decoded{ID: j.ID, Time: time.UnixMilli(j.UnixMs).UTC(), Sequence: j.Sequence}
	if j.Generator != nil {
		d.Generator = *j.Generator
	}
	if j.DC != nil || j.Worker != nil {
		d.dcWorker = true
		if j.DC != nil {
			d.DC = *j.DC
		}
		if j.Worker != nil {
			d.Worker = *j.Worker
		}
	}
	return nil
}

// Decode splits id into its fields. An id that l cannot issue, negative or above MaxID, is an error
// wrapping ErrInvalidID, and so is an id whose time lies past 9999-12-31, which a layout with a long
// unit and a wide time field can hold (its time is computed exactly, never wrapped around).
func (l Layout) Decode(id ID) (Decoded, error) {
	l = l.orDefault()
	if err := l.checkID(id); err != nil {
		return Decoded{}, err
	}
	field := func(k FieldKind) int64 {
		s := l.shift(k)
		if s < 0 {
			return 0
		}
		return int64(id) >> s & l.Max(k)
	}
	tick := field(FieldTime)
	ms, ok := tickMs(l.epochMs, tick, int64(l.unit/time.Millisecond))
	if !ok {
		return Decoded{}, fmt.Errorf("%w: %d has time field %d, %d × %v after the epoch %s: later than %s, the last instant a decoded time can hold",
			ErrInvalidID, int64(id), tick, tick, l.unit, l.Epoch().Format(time.RFC3339), time.UnixMilli(maxDecodeMs).UTC().Format(TimeFormat))
	}
	return Decoded{
		ID:        id,
		Time:      time.UnixMilli(ms).UTC(),
		Sequence:  field(FieldSequence),
		Generator: field(FieldGenerator),
		DC:        field(FieldDC),
		Worker:    field(FieldWorker),
		dcWorker:  !l.Has(FieldGenerator),
	}, nil
}

// maxDecodeMs is 9999-12-31T23:59:59.999Z, the last instant RFC 3339 (the time key of a Decoded's
// JSON) can write.
const maxDecodeMs = 253402300799999

// tickMs returns epochMs + tick × unitMs, and false when that lies past maxDecodeMs (the product
// would overflow int64 long before it wraps around to a plausible date).
func tickMs(epochMs, tick, unitMs int64) (int64, bool) {
	if tick < 0 || unitMs < 1 || epochMs > maxDecodeMs || tick > (maxDecodeMs-epochMs)/unitMs {
		return 0, false
	}
	return epochMs + tick*unitMs, true
}

// checkID returns an error wrapping ErrInvalidID, naming the value and the range, for an id that l
// cannot issue: negative, or above MaxID.
func (l Layout) checkID(id ID) error {
	switch {
	case id < 0:
		return fmt.Errorf("%w: %d is negative", ErrInvalidID, int64(id))
	case id > l.MaxID():
		return fmt.Errorf("%w: %d is above %d, the largest ID of layout %s (%d bits), range [0, %d]",
			ErrInvalidID, int64(id), int64(l.MaxID()), l.name, l.width, int64(l.MaxID()))
	}
	return nil
}

// DecodeString parses an ID in decimal (or, failing that, in the fixed-width base32 or base58 forms)
// and decodes it under l. Errors wrap ErrInvalidID and name the input.
func DecodeString(l Layout, s string) (Decoded, error) {
	id, err := ParseAny(s)
	if err != nil {
		return Decoded{}, err
	}
	return l.Decode(id)
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
