package client

import (
	"bytes"
	"fmt"

	"github.com/snowfall-go/snowfall"
)

// ParseIDLines appends the IDs of body, the text/plain answer of GET /ids, to dst: decimal IDs of 1
// to 19 digits, one per line, ended by "\n" or "\r\n" (optional on the last line). An empty body
// holds no IDs. Errors wrap ErrBadResponse and name the line.
func ParseIDLines(dst []snowfall.ID, body []byte) ([]snowfall.ID, error) {
	for line := 1; len(body) > 0; line++ {
		var s []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			s, body = body[:i], body[i+1:]
		} else {
			s, body = body, nil
		}
		if k := len(s); k > 0 && s[k-1] == '\r' {
			s = s[:k-1]
		}
		v, ok := parseDecimal(s)
		if !ok {
			return dst, fmt.Errorf("%w: line %d of an ID list is %q, not a decimal ID", ErrBadResponse, line, clip(string(s)))
		}
		dst = append(dst, snowfall.ID(v))
	}
	return dst, nil
}

// parseDecimal parses 1 to 19 ASCII digits holding a value in [0, MaxInt64], without allocating.
func parseDecimal(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 19 {
		return 0, false
	}
	const max = 1<<63 - 1
	var v int64
	for _, c := range s {
		d := int64(c) - '0'
		if d < 0 || d > 9 || v > (max-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}
