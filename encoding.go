package snowfall

import (
	"fmt"
	"strings"
)

// Crockford's base32 alphabet and the Bitcoin base58 alphabet. Both are in ASCII order, so the
// fixed-width forms below sort like the IDs they encode.
const (
	base32Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

	// Base32Len and Base58Len are the widths of the encoded forms.
	Base32Len = 13
	Base58Len = 11
)

var base32Dec, base58Dec [256]int8

func init() {
	for i := range base32Dec {
		base32Dec[i], base58Dec[i] = -1, -1
	}
	for i := 0; i < len(base32Alphabet); i++ {
		c := base32Alphabet[i]
		base32Dec[c] = int8(i)
		base32Dec[c|0x20] = int8(i) // lower case
	}
	// Crockford's decoding also reads I and L as 1 and O as 0.
	for _, c := range "IiLl" {
		base32Dec[c] = 1
	}
	for _, c := range "Oo" {
		base32Dec[c] = 0
	}
	for i := 0; i < len(base58Alphabet); i++ {
		base58Dec[base58Alphabet[i]] = int8(i)
	}
}

// Base32 returns the ID in Crockford's base32, 13 characters wide with leading zeros, upper case.
func (id ID) Base32() string {
	var b [Base32Len]byte
	v := uint64(id)
	for i := Base32Len - 1; i >= 0; i-- {
		b[i] = base32Alphabet[v&31]
		v >>= 5
	}
	return string(b[:])
}

// Base58 returns the ID in base58 (the Bitcoin alphabet), 11 characters wide with leading '1's.
func (id ID) Base58() string {
	var b [Base58Len]byte
	v := uint64(id)
	for i := Base58Len - 1; i >= 0; i-- {
		b[i] = base58Alphabet[v%58]
		v /= 58
	}
	return string(b[:])
}

// ParseBase32 parses Crockford's base32 (1 to 13 characters, any case; I and L read as 1, O as 0;
// hyphens are ignored). Errors wrap ErrInvalidID and name the input and the bad character.
func ParseBase32(s string) (ID, error) {
	return parseBase(s, 32, &base32Dec, Base32Len, true)
}

// ParseBase58 parses base58 (1 to 11 characters of the Bitcoin alphabet). Errors wrap ErrInvalidID.
func ParseBase58(s string) (ID, error) {
	return parseBase(s, 58, &base58Dec, Base58Len, false)
}

func parseBase(s string, base uint64, dec *[256]int8, width int, hyphens bool) (ID, error) {
	in := s
	if hyphens {
		s = strings.ReplaceAll(s, "-", "")
	}
	if len(s) == 0 || len(s) > width {
		return 0, fmt.Errorf("%w: base%d %q has %d characters, want 1 to %d", ErrInvalidID, base, clip(in), len(s), width)
	}
	const limit = uint64(1<<63 - 1)
	var v uint64
	for i := 0; i < len(s); i++ {
		d := dec[s[i]]
		if d < 0 {
			return 0, fmt.Errorf("%w: base%d %q has invalid character %q at %d", ErrInvalidID, base, clip(in), s[i], i)
		}
		if v > (limit-uint64(d))/base {
			return 0, fmt.Errorf("%w: base%d %q is above the largest ID 9223372036854775807", ErrInvalidID, base, clip(in))
		}
		v = v*base + uint64(d)
	}
	return ID(v), nil
}
