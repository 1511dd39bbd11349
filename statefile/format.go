package statefile

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Errors returned by this package. Match them with errors.Is.
var (
	// ErrCorrupt: the state file holds no valid slot (each is torn, truncated, of an unknown
	// version or fails its checksum), or its two slots disagree. It is never treated as absent: a
	// server refuses to start until an operator looks at it.
	ErrCorrupt = errors.New("statefile: corrupt state file")
	// ErrInUse: another process keeps the state file (holds its lock).
	ErrInUse = errors.New("statefile: state file in use")
	// ErrMoved: the state file's path no longer names the file the source keeps (it was
	// deleted, renamed or replaced while in use). The source records no further mark and its
	// generator stops at the recorded one for good (a FenceError with ErrNotRecorded): another
	// process may hold the file now at the path. Restart the process.
	ErrMoved = errors.New("statefile: the path no longer names the state file this process keeps")
	// ErrUntrustedFS: the state file is on a filesystem where flock may not be a lock between
	// every process that can open the file (NFS, SMB, FUSE, 9p, Ceph, or one this package does not
	// know), and Settings.TrustFSLocks is false. Linux only: see the package documentation.
	ErrUntrustedFS = errors.New("statefile: state file on a filesystem whose locks are not trusted")
)

// The formats a state file may hold. Version 2 is written; version 1 (one text of six lines,
// replaced by a rename at every step) is read, as the first slot with sequence number 0, and
// upgraded in place by the first write, which goes to the second slot.
const (
	version       = 2
	legacyVersion = 1
)

// magic starts every slot.
const magic = "snowfall-state"

// A version 2 state file is two slots of slotSize bytes, each in a block of its own (a write to one
// never rewrites the other's block). A slot is a text of seven lines (see encodeSlot) padded with
// NUL bytes; the valid slot with the higher sequence number is the state. Writes alternate between
// the slots, so the one being written is never the one read last: a write torn by a crash leaves
// the other slot, the previous step, and the mark the generator was granted is never above the one
// a valid slot records (the generator is granted a mark only once its slot is synced).
const (
	slotSize = 4096
	fileSize = 2 * slotSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// State is what a state file records: the layout and node values of a static generator and its
// high-water mark, the last instant whose tick the generator may have issued.
type State struct {
	Layout snowfall.Layout
	Node   snowfall.Node
	Mark   time.Time // kept to the millisecond
}

// slot is a decoded slot: a state and its sequence number (0 for a version 1 file).
type slot struct {
	seq uint64
	st  State
}

// encodeSlot returns a slot of slotSize bytes recording s with sequence number seq:
//
//	snowfall-state 2
//	seq 42
//	layout time=40,seq=12,gen=11
//	epoch 1577836800000
//	node 5 0 0
//	mark 1795000000000
//	crc32c 1a2b3c4d
//
// followed by NUL bytes. The checksum (CRC-32C, hexadecimal) covers every byte before its line.
func encodeSlot(seq uint64, s State) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", magic, version)
	fmt.Fprintf(&b, "seq %d\n", seq)
	writeBody(&b, s)
	b.WriteString(checksumLine(b.Bytes()))
	out := make([]byte, slotSize)
	copy(out, b.Bytes())
	return out
}

// legacyText returns the contents of a version 1 state file recording s, for the tests of the
// upgrade.
func legacyText(s State) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", magic, legacyVersion)
	writeBody(&b, s)
	b.WriteString(checksumLine(b.Bytes()))
	return b.Bytes()
}

func writeBody(b *bytes.Buffer, s State) {
	fmt.Fprintf(b, "layout %s\n", s.Layout.Spec())
	fmt.Fprintf(b, "epoch %d\n", s.Layout.EpochMs())
	fmt.Fprintf(b, "node %d %d %d\n", s.Node.Generator, s.Node.DC, s.Node.Worker)
	fmt.Fprintf(b, "mark %d\n", s.Mark.UnixMilli())
}

// checksumLine returns the last line of a slot whose other lines are body.
func checksumLine(body []byte) string {
	return fmt.Sprintf("crc32c %08x\n", crc32.Checksum(body, castagnoli))
}

// Parse decodes a state file's contents and returns the state it records: that of the valid slot
// with the higher sequence number. A slot that is torn or fails its checksum is the write a crash
// interrupted, and the other slot is read. Every defect that leaves no valid slot, or two valid
// slots recording different layouts or node values, is an error wrapping ErrCorrupt that says what
// is wrong: an empty or truncated file, a bad checksum, an unknown version, a malformed line, or
// node values that do not fit the recorded layout.
func Parse(data []byte) (State, error) {
	f, err := parseFile(data)
	if err != nil {
		return State{}, err
	}
	return f.slots[f.cur].st, nil
}

// file is a decoded state file.
type file struct {
	slots [2]*slot // nil where the slot is missing or invalid
	cur   int      // the index of the slot holding the state
}

// parseFile decodes a state file's contents; see Parse.
func parseFile(data []byte) (file, error) {
	var f file
	switch {
	case len(data) == 0:
		return f, fmt.Errorf("%w: empty file", ErrCorrupt)
	case len(data) > fileSize:
		return f, fmt.Errorf("%w: %d bytes, a state file has at most %d", ErrCorrupt, len(data), fileSize)
	}
	var errs [2]error
	for i := range f.slots {
		lo, hi := i*slotSize, min((i+1)*slotSize, len(data))
		if lo >= len(data) {
			errs[i] = errors.New("missing")
			continue
		}
		s, err := parseSlot(data[lo:hi], i == 0)
		if err != nil {
			errs[i] = err
			continue
		}
		f.slots[i] = &s
	}
	a, b := f.slots[0], f.slots[1]
	switch {
	case a == nil && b == nil:
		if len(data) <= slotSize {
			return f, errs[0] // one slot only: say what is wrong with it
		}
		return f, fmt.Errorf("%w: neither slot is valid (first: %v; second: %v)", ErrCorrupt, unwrap(errs[0]), unwrap(errs[1]))
	case a == nil:
		f.cur = 1
	case b == nil:
		f.cur = 0
	default:
		if a.st.Layout.Spec() != b.st.Layout.Spec() || a.st.Layout.EpochMs() != b.st.Layout.EpochMs() || a.st.Node != b.st.Node {
			return f, fmt.Errorf("%w: the two slots record different layouts or node values", ErrCorrupt)
		}
		if a.seq == b.seq {
			return f, fmt.Errorf("%w: the two slots have the same sequence number %d", ErrCorrupt, a.seq)
		}
		if b.seq > a.seq {
			f.cur = 1
		}
	}
	return f, nil
}

// unwrap drops the ErrCorrupt prefix of a slot's error, for a message naming both slots.
func unwrap(err error) string {
	return strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": ")
}

// parseSlot decodes a slot: its text runs to the first NUL byte, and only NUL bytes may follow.
// The first slot may also be a version 1 file, read as sequence number 0.
func parseSlot(data []byte, first bool) (slot, error) {
	var sl slot
	text := data
	if i := bytes.IndexByte(data, 0); i >= 0 {
		text = data[:i]
		if bytes.ContainsFunc(data[i:], func(r rune) bool { return r != 0 }) {
			return sl, fmt.Errorf("%w: bytes after the end of the text (torn write?)", ErrCorrupt)
		}
	}
	if len(text) == 0 {
		return sl, fmt.Errorf("%w: empty slot (torn write?)", ErrCorrupt)
	}
	if text[len(text)-1] != '\n' {
		return sl, fmt.Errorf("%w: no final newline (truncated?)", ErrCorrupt)
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	head, ver, ok := strings.Cut(lines[0], " ")
	if !ok || head != magic {
		return sl, fmt.Errorf("%w: first line %q does not start with %q", ErrCorrupt, clip(lines[0]), magic)
	}
	want := 7
	switch {
	case ver == strconv.Itoa(version):
	case ver == strconv.Itoa(legacyVersion) && first:
		want = 6
	default:
		return sl, fmt.Errorf("%w: version %q, this build reads versions %d and %d", ErrCorrupt, clip(ver), legacyVersion, version)
	}
	if len(lines) != want {
		return sl, fmt.Errorf("%w: %d lines, want %d (truncated?)", ErrCorrupt, len(lines), want)
	}
	last := lines[len(lines)-1]
	sumText, err := value(last, "crc32c")
	if err != nil {
		return sl, err
	}
	sum, err := strconv.ParseUint(sumText, 16, 32)
	if err != nil || len(sumText) != 8 {
		return sl, fmt.Errorf("%w: checksum %q is not 8 hex digits", ErrCorrupt, clip(sumText))
	}
	body := text[:len(text)-len(last)-1]
	if got := crc32.Checksum(body, castagnoli); got != uint32(sum) {
		return sl, fmt.Errorf("%w: checksum %08x, file says %08x", ErrCorrupt, got, sum)
	}
	lines = lines[1 : len(lines)-1]
	if want == 7 {
		seqText, err := value(lines[0], "seq")
		if err != nil {
			return sl, err
		}
		if sl.seq, err = strconv.ParseUint(seqText, 10, 64); err != nil || sl.seq == 0 {
			return sl, fmt.Errorf("%w: sequence number %q is not a positive number", ErrCorrupt, clip(seqText))
		}
		lines = lines[1:]
	}
	sl.st, err = parseBody(lines)
	return sl, err
}

// parseBody decodes the layout, epoch, node and mark lines.
func parseBody(lines []string) (State, error) {
	var s State
	spec, err := value(lines[0], "layout")
	if err != nil {
		return s, err
	}
	epochText, err := value(lines[1], "epoch")
	if err != nil {
		return s, err
	}
	epoch, err := strconv.ParseInt(epochText, 10, 64)
	if err != nil {
		return s, fmt.Errorf("%w: epoch %q is not a number", ErrCorrupt, clip(epochText))
	}
	l, err := snowfall.ParseLayout(spec)
	if err == nil {
		l, err = l.WithEpoch(time.UnixMilli(epoch))
	}
	if err != nil || !strings.Contains(spec, "=") {
		return s, fmt.Errorf("%w: layout %q epoch %d: %w", ErrCorrupt, clip(spec), epoch, orInvalid(err))
	}
	nodeText, err := value(lines[2], "node")
	if err != nil {
		return s, err
	}
	var n [3]int64
	parts := strings.Split(nodeText, " ")
	if len(parts) != 3 {
		return s, fmt.Errorf("%w: node %q is not three numbers", ErrCorrupt, clip(nodeText))
	}
	for i, p := range parts {
		if n[i], err = strconv.ParseInt(p, 10, 64); err != nil {
			return s, fmt.Errorf("%w: node %q is not three numbers", ErrCorrupt, clip(nodeText))
		}
	}
	node := snowfall.Node{Generator: n[0], DC: n[1], Worker: n[2]}
	if err := l.CheckNode(node); err != nil {
		return s, fmt.Errorf("%w: node values do not fit the recorded layout: %w", ErrCorrupt, err)
	}
	markText, err := value(lines[3], "mark")
	if err != nil {
		return s, err
	}
	mark, err := strconv.ParseInt(markText, 10, 64)
	if err != nil || mark < 0 {
		return s, fmt.Errorf("%w: mark %q is not a non-negative number", ErrCorrupt, clip(markText))
	}
	return State{Layout: l, Node: node, Mark: time.UnixMilli(mark).UTC()}, nil
}

// value returns the rest of line after "key ".
func value(line, key string) (string, error) {
	k, v, ok := strings.Cut(line, " ")
	if !ok || k != key || v == "" {
		return "", fmt.Errorf("%w: line %q, want %q and a value", ErrCorrupt, clip(line), key)
	}
	return v, nil
}

func orInvalid(err error) error {
	if err == nil {
		return snowfall.ErrInvalidLayout
	}
	return err
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// sameConfig reports whether the recorded layout and node are the ones configured.
func (s State) sameConfig(l snowfall.Layout, n snowfall.Node) error {
	if s.Layout.Spec() != l.Spec() || s.Layout.EpochMs() != l.EpochMs() {
		return fmt.Errorf("%w: state file records layout %s, configured %s", snowfall.ErrMismatch, s.Layout, l)
	}
	if s.Node != n {
		return fmt.Errorf("%w: state file records node %+v, configured %+v", snowfall.ErrMismatch, s.Node, n)
	}
	return nil
}
