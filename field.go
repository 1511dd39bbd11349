package snowfall

import "strconv"

// FieldKind names what a field of an ID holds.
type FieldKind uint8

// The kinds of field a layout can hold.
const (
	FieldTime FieldKind = iota + 1
	FieldSequence
	FieldGenerator
	FieldDC
	FieldWorker
)

var fieldNames = map[FieldKind]string{
	FieldTime:      "time",
	FieldSequence:  "seq",
	FieldGenerator: "gen",
	FieldDC:        "dc",
	FieldWorker:    "worker",
}

// longNames name node fields in messages.
var longNames = map[FieldKind]string{FieldGenerator: "generator", FieldDC: "dc", FieldWorker: "worker"}

// fieldAliases maps every accepted spelling in a layout spec to its kind.
var fieldAliases = map[string]FieldKind{
	"time": FieldTime, "t": FieldTime,
	"seq": FieldSequence, "sequence": FieldSequence,
	"gen": FieldGenerator, "generator": FieldGenerator,
	"dc": FieldDC, "datacenter": FieldDC,
	"worker": FieldWorker,
}

// String returns the field's name as used in layout specs: time, seq, gen, dc or worker.
func (k FieldKind) String() string {
	if s, ok := fieldNames[k]; ok {
		return s
	}
	return "field(" + strconv.Itoa(int(k)) + ")"
}

// Field is one bit field of a layout.
type Field struct {
	Kind FieldKind
	Bits int
}
