package snowfall

import (
	"database/sql/driver"
	"fmt"
	"strconv"
)

// ID is a 64-bit identifier. Valid IDs are never negative. Its fields depend on the layout it was
// made with: see Layout.Decode.
type ID int64

// Int64 returns the ID as an int64.
func (id ID) Int64() int64 { return int64(id) }

// String returns the decimal form.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// ParseID parses the decimal form of a non-negative ID. Errors wrap ErrInvalidID and name the input.
func ParseID(s string) (ID, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty string", ErrInvalidID)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: %q is not a decimal number in [0, 9223372036854775807]", ErrInvalidID, clip(s))
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a decimal number in [0, 9223372036854775807]", ErrInvalidID, clip(s))
	}
	return ID(v), nil
}

// clip shortens long input for error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// MarshalText returns the decimal form.
func (id ID) MarshalText() ([]byte, error) { return strconv.AppendInt(nil, int64(id), 10), nil }

// UnmarshalText parses the decimal form.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// MarshalJSON returns the decimal form as a JSON string: JavaScript numbers lose precision past 2^53.
func (id ID) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 22)
	b = append(b, '"')
	b = strconv.AppendInt(b, int64(id), 10)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts a JSON string holding the decimal form, or a JSON number.
func (id *ID) UnmarshalJSON(b []byte) error {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	return id.UnmarshalText(b)
}

// Value stores the ID in a database column as an int64.
func (id ID) Value() (driver.Value, error) { return int64(id), nil }

// Scan reads an ID from an integer, or a decimal string or byte column.
func (id *ID) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		if v < 0 {
			return fmt.Errorf("%w: %d is negative", ErrInvalidID, v)
		}
		*id = ID(v)
		return nil
	case []byte:
		return id.UnmarshalText(v)
	case string:
		return id.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("%w: cannot scan %T into an ID", ErrInvalidID, src)
}
