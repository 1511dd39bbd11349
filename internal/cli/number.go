package cli

import (
	"fmt"
	"math"
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
		return 0, fmt.Errorf("%s is not a whole number in decimal", Quoted(s))
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is out of range for a whole number [%d, %d]", Quoted(s), int64(math.MinInt64), int64(math.MaxInt64))
	}
	return v, nil
}

// Quoted names s, a value of the user's input, in a message: Go-quoted when it has at most
// MaxQuoted bytes, else by its length alone ("a value of 300 bytes").
func Quoted(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("a value of %d bytes", len(s))
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
		return fmt.Errorf("%d is out of range [%d, %d]", v, math.MinInt, math.MaxInt)
	}
	f.V = int(v)
	return nil
}

// MaxQuoted is the longest value of a user's input that a message quotes: a longer one is named by
// its length, never by a clipped piece (a clip can cut a password anywhere, below the four
// characters the CLI's guard recognises).
const MaxQuoted = 40
