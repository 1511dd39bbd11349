package client

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/snowfall-go/snowfall"
)

var idLineTests = []struct {
	name string
	in   string
	want []snowfall.ID
	bad  bool
}{
	{"empty", "", nil, false},
	{"one", "42\n", []snowfall.ID{42}, false},
	{"no final newline", "1\n2", []snowfall.ID{1, 2}, false},
	{"crlf", "1\r\n2\r\n", []snowfall.ID{1, 2}, false},
	{"zero", "0\n", []snowfall.ID{0}, false},
	{"max", "9223372036854775807\n", []snowfall.ID{1<<63 - 1}, false},
	{"overflow", "9223372036854775808\n", nil, true},
	{"twenty digits", "10000000000000000000\n", nil, true},
	{"negative", "-1\n", nil, true},
	{"plus", "+1\n", nil, true},
	{"blank line", "1\n\n2\n", nil, true},
	{"space", "1 \n", nil, true},
	{"json", `{"ids":["1"]}`, nil, true},
	{"lone cr", "\r", nil, true},
}

func TestParseIDLines(t *testing.T) {
	for _, tt := range idLineTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIDLines(nil, []byte(tt.in))
			if tt.bad {
				if !errors.Is(err, ErrBadResponse) {
					t.Errorf("ParseIDLines(%q) error = %v, want ErrBadResponse", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseIDLines(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseIDLines(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// FuzzParseIDLines checks that the parser agrees with strconv line by line, and that what it accepts
// formats back to the same lines.
func FuzzParseIDLines(f *testing.F) {
	for _, tt := range idLineTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParseIDLines(nil, body)
		lines := bytes.Split(bytes.TrimSuffix(body, []byte("\n")), []byte("\n"))
		if len(body) == 0 {
			lines = nil
		}
		wantOK := true
		for _, l := range lines {
			l = bytes.TrimSuffix(l, []byte("\r"))
			v, perr := strconv.ParseInt(string(l), 10, 64)
			if perr != nil || v < 0 || len(l) == 0 || len(l) > 19 || l[0] < '0' || l[0] > '9' {
				wantOK = false
			}
		}
		if (err == nil) != wantOK {
			t.Fatalf("ParseIDLines(%q) error = %v, want ok %v", body, err, wantOK)
		}
		if err != nil {
			return
		}
		if len(got) != len(lines) {
			t.Fatalf("ParseIDLines(%q) returned %d IDs for %d lines", body, len(got), len(lines))
		}
		var round []byte
		for _, id := range got {
			round = append(append(round, id.String()...), '\n')
		}
		again, err := ParseIDLines(nil, round)
		if err != nil || !cmp.Equal(got, again) {
			t.Fatalf("round trip of %v gave %v, %v", got, again, err)
		}
	})
}
