// THE SHIPPED DEFECT, for the alias search's proof only (go build -overlay): statefile as of
// 86bca99, before issue 18, whose guard resolved the path as text and renamed the file over itself.

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
	// ErrCorrupt: the state file is torn, truncated, of an unknown version or fails its checksum.
	// It is never treated as absent: a server refuses to start until an operator looks at it.
	ErrCorrupt = errors.New("statefile: corrupt state file")
	// ErrInUse: another process on this host keeps the state file.
	ErrInUse = errors.New("statefile: state file in use")
)

// version is the format version written on the first line.
const version = 1

// magic starts every state file.
const magic = "snowfall-state"

// maxSize bounds what Parse reads: a valid file is well under 200 bytes.
const maxSize = 1024

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// State is what a state file records: the layout and node values of a static generator and its
// high-water mark, the last instant whose tick the generator may have issued.
type State struct {
	Layout snowfall.Layout
	Node   snowfall.Node
	Mark   time.Time // kept to the millisecond
}

// MarshalText returns the file's contents:
//
//	snowfall-state 1
//	layout time=40,seq=12,gen=11
//	epoch 1577836800000
//	node 5 0 0
//	mark 1795000000000
//	crc32c 1a2b3c4d
//
// The checksum (CRC-32C, hexadecimal) covers every byte before its line.
func (s State) MarshalText() ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d\n", magic, version)
	fmt.Fprintf(&b, "layout %s\n", s.Layout.Spec())
	fmt.Fprintf(&b, "epoch %d\n", s.Layout.EpochMs())
	fmt.Fprintf(&b, "node %d %d %d\n", s.Node.Generator, s.Node.DC, s.Node.Worker)
	fmt.Fprintf(&b, "mark %d\n", s.Mark.UnixMilli())
	b.WriteString(checksumLine(b.Bytes()))
	return b.Bytes(), nil
}

// checksumLine returns the last line of a file whose other lines are body.
func checksumLine(body []byte) string {
	return fmt.Sprintf("crc32c %08x\n", crc32.Checksum(body, castagnoli))
}

// Parse decodes a state file's contents. Every defect is an error wrapping ErrCorrupt that says
// what is wrong: an empty or truncated file, a bad checksum, an unknown version, a malformed line, or
// node values that do not fit the recorded layout.
func Parse(data []byte) (State, error) {
	var s State
	if len(data) == 0 {
		return s, fmt.Errorf("%w: empty file (torn write?)", ErrCorrupt)
	}
	if len(data) > maxSize {
		return s, fmt.Errorf("%w: %d bytes, a state file has at most %d", ErrCorrupt, len(data), maxSize)
	}
	if data[len(data)-1] != '\n' {
		return s, fmt.Errorf("%w: no final newline (truncated?)", ErrCorrupt)
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if len(lines) != 6 {
		return s, fmt.Errorf("%w: %d lines, want 6 (truncated?)", ErrCorrupt, len(lines))
	}
	head, ver, ok := strings.Cut(lines[0], " ")
	if !ok || head != magic {
		return s, fmt.Errorf("%w: first line %q does not start with %q", ErrCorrupt, clip(lines[0]), magic)
	}
	if ver != strconv.Itoa(version) {
		return s, fmt.Errorf("%w: version %q, this build reads version %d", ErrCorrupt, clip(ver), version)
	}
	sumText, err := value(lines[5], "crc32c")
	if err != nil {
		return s, err
	}
	want, err := strconv.ParseUint(sumText, 16, 32)
	if err != nil || len(sumText) != 8 {
		return s, fmt.Errorf("%w: checksum %q is not 8 hex digits", ErrCorrupt, clip(sumText))
	}
	body := data[:len(data)-len(lines[5])-1]
	if got := crc32.Checksum(body, castagnoli); got != uint32(want) {
		return s, fmt.Errorf("%w: checksum %08x, file says %08x", ErrCorrupt, got, want)
	}
	spec, err := value(lines[1], "layout")
	if err != nil {
		return s, err
	}
	epochText, err := value(lines[2], "epoch")
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
	nodeText, err := value(lines[3], "node")
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
	markText, err := value(lines[4], "mark")
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
