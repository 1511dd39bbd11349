package statefile

import (
	"bytes"
	"errors"
	"strings"
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

// earlier returns s with its mark a second earlier.
func earlier(s State) State {
	s.Mark = s.Mark.Add(-time.Second)
	return s
}

// twoSlots returns a file whose first slot records a with sequence number seqA and whose second
// records b with seqB.
func twoSlots(seqA uint64, a State, seqB uint64, b State) []byte {
	return append(encodeSlot(seqA, a), encodeSlot(seqB, b)...)
}

// validText is a file after a few writes: the second slot holds the state, the first the step
// before it.
func validText(t testing.TB) []byte {
	t.Helper()
	s := validState(t)
	return twoSlots(3, earlier(s), 4, s)
}

// resum returns a slot whose text is body and a valid checksum.
func resum(body string) []byte {
	b := []byte(body)
	b = append(b, []byte(checksumLine(b))...)
	return append(b, make([]byte, slotSize-len(b))...)
}

// corruptions lists damaged files; each must fail with ErrCorrupt.
func corruptions(t testing.TB) map[string][]byte {
	s := validState(t)
	good := validText(t)
	tear := func(b []byte, at int) []byte { // zeroes b from at to the end of its slot
		b = bytes.Clone(b)
		clear(b[at : (at/slotSize+1)*slotSize])
		return b
	}
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 1
		return b
	}
	markAt := bytes.Index(good, []byte("mark ")) + 6
	otherNode := s
	otherNode.Node.Worker = 18
	seqLine := "snowfall-state 2\nseq 1\n"
	return map[string][]byte{
		"empty":                 {},
		"one slot, truncated":   encodeSlot(1, s)[:40],
		"one slot, torn":        tear(encodeSlot(1, s), 60),
		"both slots torn":       tear(tear(good, 60), slotSize+60),
		"zero filled":           make([]byte, fileSize),
		"bit flip in each slot": flip(flip(good, markAt), slotSize+markAt),
		"garbage":               []byte("hello\nworld\n"),
		"version 3":             bytes.ReplaceAll(good, []byte("snowfall-state 2"), []byte("snowfall-state 3")),
		"bad checksum digits": append(bytes.Clone(good[:bytes.Index(good, []byte("crc32c"))]),
			[]byte("crc32c zzzzzzzz\n")...),
		"node out of range":           resum(seqLine + "layout time=41,dc=5,worker=5,seq=12\nepoch 1288834974657\nnode 0 99 1\nmark 1\n"),
		"bad layout":                  resum(seqLine + "layout time=41,seq=12\nepoch 1288834974657\nnode 0 1 1\nmark 1\n"),
		"negative mark":               resum(seqLine + "layout time=41,dc=5,worker=5,seq=12\nepoch 1288834974657\nnode 0 1 1\nmark -5\n"),
		"future epoch":                resum(seqLine + "layout time=41,dc=5,worker=5,seq=12\nepoch 9999999999999\nnode 0 1 1\nmark 1\n"),
		"sequence number 0":           resum("snowfall-state 2\nseq 0\nlayout time=41,dc=5,worker=5,seq=12\nepoch 1288834974657\nnode 0 1 1\nmark 1\n"),
		"bytes after the text":        flip(encodeSlot(1, s), slotSize-1),
		"slots disagree on the node":  twoSlots(1, s, 2, otherNode),
		"slots with one sequence":     twoSlots(2, earlier(s), 2, s),
		"version 1 in the second":     append(tear(encodeSlot(1, s), 0), append(legacyText(s), make([]byte, slotSize-len(legacyText(s)))...)...),
		"version 1 torn":              legacyText(s)[:len(legacyText(s))-9],
		"version 1 bit flip":          flip(legacyText(s), bytes.Index(legacyText(s), []byte("mark "))+6),
		"too long":                    append(bytes.Clone(good), 0),
		"version 1, one line missing": []byte(strings.Replace(string(legacyText(s)), "epoch", "x", 1)),
	}
}

func TestParseCorrupt(t *testing.T) {
	for name, data := range corruptions(t) {
		t.Run(name, func(t *testing.T) {
			if st, err := Parse(data); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Parse = %+v, %v; want ErrCorrupt", st, err)
			}
		})
	}
}

// TestParseSlots: the valid slot with the higher sequence number is the state, wherever it is; a
// torn or damaged slot is the write a crash interrupted, and the other one is read; a version 1
// file is read, alone or as the first slot once the upgrade wrote the second.
func TestParseSlots(t *testing.T) {
	s := validState(t)
	old := earlier(s)
	torn := func(b []byte) []byte { clear(b[60:]); return b } // the text cut after 60 bytes
	legacy := legacyText(old)
	padded := append(bytes.Clone(legacy), make([]byte, slotSize-len(legacy))...)
	for _, c := range []struct {
		name string
		data []byte
		want State
	}{
		{"second newer", twoSlots(5, old, 6, s), s},
		{"first newer", twoSlots(8, s, 7, old), s},
		{"one slot", encodeSlot(1, s), s},
		{"second slot torn", append(encodeSlot(5, old), torn(encodeSlot(6, s))...), old},
		{"second slot cut short", append(encodeSlot(5, old), encodeSlot(6, s)[:100]...), old},
		{"first slot torn", append(torn(encodeSlot(7, s)), encodeSlot(6, old)...), old},
		{"first slot empty", append(make([]byte, slotSize), encodeSlot(1, s)...), s},
		{"version 1", legacy, old},
		{"version 1, upgraded", append(padded, encodeSlot(1, s)...), s},
		{"version 1, upgrade torn", append(padded, torn(encodeSlot(1, s))...), old},
		{"version 1, upgrade cut short", append(bytes.Clone(padded), encodeSlot(1, s)[:10]...), old},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.data)
			if err != nil {
				t.Fatal(err)
			}
			if !sameState(got, c.want) {
				t.Errorf("Parse = %+v, want %+v", got, c.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(validText(f))
	f.Add(legacyText(validState(f)))
	for _, data := range corruptions(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := parseFile(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Parse error %v does not match ErrCorrupt", err)
			}
			return
		}
		cur := pf.slots[pf.cur]
		// What a write makes of it: the next slot, then the one after; each reads back.
		next := bytes.Clone(data)
		for range 2 {
			at := (1 - pf.cur) * slotSize
			if len(next) < at+slotSize {
				next = append(next, make([]byte, at+slotSize-len(next))...)
			}
			copy(next[at:], encodeSlot(cur.seq+1, cur.st))
			if pf, err = parseFile(next); err != nil {
				t.Fatalf("Parse after a write: %v", err)
			}
			if got := pf.slots[pf.cur]; got.seq != cur.seq+1 || !sameState(got.st, cur.st) {
				t.Fatalf("after a write: seq %d %+v, want %d %+v", got.seq, got.st, cur.seq+1, cur.st)
			}
			cur = pf.slots[pf.cur]
		}
	})
}

func sameState(a, b State) bool {
	return a.Layout.Spec() == b.Layout.Spec() && a.Layout.EpochMs() == b.Layout.EpochMs() &&
		a.Node == b.Node && a.Mark.Equal(b.Mark)
}
