package etcdassign

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// The high-water mark of generator id <id> is the value of mark/<id>: Unix milliseconds as
// decimal digits. This package writes 20 digits, zero-padded, so that byte order is numeric
// order; it reads any number of digits, since a hand (etcdctl put) or a restored snapshot may
// have written another width. Anything else is not a mark: a sign, spaces, other characters, an
// empty value or a number past int64. Such a value is a floor nobody knows, so it is never read
// as 0 and never overwritten: every reader (a claim's read of the manifest, a renewal) fails with
// an error that names the key and the value, until an operator puts a mark back.

// markValue encodes a mark as fixed-width decimal milliseconds. Times before 1970 count as 0.
func markValue(t time.Time) string { return padMs(t.UnixMilli()) }

// padMs encodes ms as 20 decimal digits, zero-padded; negative values count as 0.
func padMs(ms int64) string { return fmt.Sprintf("%020d", max(ms, 0)) }

// parseMark reads the value v of the mark key key: decimal digits only, of any width, for a
// number in [0, MaxInt64]. Otherwise it returns an error naming key and v (quoted, cut after
// 64 bytes).
func parseMark(key string, v []byte) (int64, error) {
	ok := len(v) > 0
	for _, b := range v {
		ok = ok && '0' <= b && b <= '9'
	}
	if ok {
		if ms, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return ms, nil
		}
	}
	return 0, &markError{key: key, value: string(v)}
}

// markError is a mark key whose value is not a mark.
type markError struct{ key, value string }

func (e *markError) Error() string {
	shown := e.value
	if len(shown) > 64 {
		shown = shown[:64] + "…"
	}
	return fmt.Sprintf("key %s holds %q, which is not a high-water mark (want Unix milliseconds as decimal digits, in [0, %d]); put back a mark no earlier than the last ID issued with this generator id",
		e.key, shown, int64(math.MaxInt64))
}

// msTime returns the time of ms Unix milliseconds, or the zero time for ms <= 0 (no mark).
func msTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
