package statefile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

func validState(t testing.TB) State {
	t.Helper()
	l, err := snowfall.ParseLayout("time=41,dc=5,worker=5,seq=12")
	if err != nil {
		t.Fatal(err)
	}
	return State{Layout: l, Node: snowfall.Node{DC: 3, Worker: 17}, Mark: time.UnixMilli(1795000000123).UTC()}
}

func validText(t testing.TB) []byte {
	t.Helper()
	b, err := validState(t).MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptions lists damaged variants of a valid file; each must fail with ErrCorrupt.
func corruptions(t testing.TB) map[string][]byte {
	good := validText(t)
	flip := bytes.Clone(good)
	flip[bytes.Index(flip, []byte("mark "))+6] ^= 1 // one bit of the mark
	resum := func(s string) []byte {
		// a well-formed file with a valid checksum around the bad body s
		b := []byte(s)
		return append(b, []byte(checksumLine(b))...)
	}
	return map[string][]byte{
		"empty":            {},
		"truncated half":   good[:len(good)/2],
		"no final newline": good[:len(good)-1],
		"zero filled":      make([]byte, len(good)),
		"bit flip":         flip,
		"garbage":          []byte("hello\nworld\n"),
		"version 2":        bytes.Replace(good, []byte("snowfall-state 1"), []byte("snowfall-state 2"), 1),
		"bad checksum digits": append(bytes.Clone(good[:bytes.LastIndex(good, []byte("crc32c"))]),
			[]byte("crc32c zzzzzzzz\n")...),
		"node out of range": resum("snowfall-state 1\nlayout time=41,dc=5,worker=5,seq=12\nepoch 1288834974657\nnode 0 99 1\nmark 1\n"),
		"bad layout":        resum("snowfall-state 1\nlayout time=41,seq=12\nepoch 1288834974657\nnode 0 1 1\nmark 1\n"),
		"negative mark":     resum("snowfall-state 1\nlayout time=41,dc=5,worker=5,seq=12\nepoch 1288834974657\nnode 0 1 1\nmark -5\n"),
		"future epoch":      resum("snowfall-state 1\nlayout time=41,dc=5,worker=5,seq=12\nepoch 9999999999999\nnode 0 1 1\nmark 1\n"),
		"too long":          bytes.Repeat([]byte("x\n"), maxSize),
	}
}

func TestParseRoundTrip(t *testing.T) {
	want := validState(t)
	got, err := Parse(validText(t))
	if err != nil {
		t.Fatal(err)
	}
	if !sameState(got, want) {
		t.Errorf("Parse(MarshalText(s)) = %+v, want %+v", got, want)
	}
}

func TestParseCorrupt(t *testing.T) {
	for name, data := range corruptions(t) {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(data)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Parse = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	want := validState(t)
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	want.Mark = want.Mark.Add(time.Second)
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameState(got, want) {
		t.Errorf("Read = %+v, want %+v", got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the state file (no temporary left over)", len(entries))
	}
}

func FuzzParse(f *testing.F) {
	f.Add(validText(f))
	for _, data := range corruptions(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Parse error %v does not match ErrCorrupt", err)
			}
			return
		}
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(MarshalText(Parse(x))): %v\n%s", err, b)
		}
		if !sameState(s, s2) {
			t.Fatalf("round trip: got %+v, want %+v", s2, s)
		}
	})
}

func sameState(a, b State) bool {
	return a.Layout.Spec() == b.Layout.Spec() && a.Layout.EpochMs() == b.Layout.EpochMs() &&
		a.Node == b.Node && a.Mark.Equal(b.Mark)
}
