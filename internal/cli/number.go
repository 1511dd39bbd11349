package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// Int64Flag is an int64 flag that remembers whether it was set, so that --dc 0 differs from no --dc.
type Int64Flag struct {
	V     int64
	IsSet bool
}

func (f *Int64Flag) String() string { return strconv.FormatInt(f.V, 10) }

// Set parses a decimal value strictly (see ParseDecimal).
func (f *Int64Flag) Set(s string) error {
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	f.V, f.IsSet = v, true
	return nil
}

// ParseDecimal parses a whole number written in plain decimal: an optional '-' and digits, leading
// zeros allowed (0005 is 5, however many zeros lead it). Spaces, a '+' sign, base prefixes (0x10)
// and digit separators (1_000) are errors, the same on the command line and in the environment; a
// value beyond int64 is out of range, whatever its width.
func ParseDecimal(s string) (int64, error) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a whole number in decimal", clip(s))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range for a whole number", clip(s))
	}
	return v, nil
}

// clip shortens s for a message: its first 40 bytes and an ellipsis.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:40] + "…"
}

// IntFlag is an int flag parsed with ParseDecimal.
type IntFlag struct{ V int }

func (f *IntFlag) String() string { return strconv.Itoa(f.V) }

// Set parses a decimal value strictly.
func (f *IntFlag) Set(s string) error {
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	if int64(int(v)) != v {
		return fmt.Errorf("%q is out of range", s)
	}
	f.V = int(v)
	return nil
}
