package snowfall

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNodeRange(t *testing.T) {
	tw, _ := Preset(PresetTwitter)
	tests := []struct {
		name string
		l    Layout
		n    Node
		want string
	}{
		{"generator too big", DefaultLayout(), Node{Generator: 2048}, "generator 2048 out of range [0, 2047]"},
		{"generator negative", DefaultLayout(), Node{Generator: -1}, "generator -1 out of range [0, 2047]"},
		{"dc too big", tw, Node{DC: 32}, "dc 32 out of range [0, 31]"},
		{"worker too big", tw, Node{Worker: 40}, "worker 40 out of range [0, 31]"},
		{"dc on a gen layout", DefaultLayout(), Node{DC: 1}, "has no dc field"},
		{"generator on a dc layout", tw, Node{Generator: 1}, "has no gen field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.l.CheckNode(tt.n)
			if !errors.Is(err, ErrOutOfRange) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckNode(%+v) = %v, want %q", tt.n, err, tt.want)
			}
			if _, err := New(Settings{Layout: tt.l, Node: tt.n}); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("New = %v, want ErrOutOfRange", err)
			}
		})
	}
}

func TestComposeDecodeRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	custom, err := ParseLayout("time=39,seq=8,gen=16,unit=10ms")
	if err != nil {
		t.Fatal(err)
	}
	layouts := []Layout{custom}
	for _, name := range PresetNames() {
		l, _ := Preset(name)
		layouts = append(layouts, l)
	}
	for _, l := range layouts {
		t.Run(l.Name()+"/"+l.Spec(), func(t *testing.T) {
			for range 1000 {
				tick := r.Int64N(l.Max(FieldTime) + 1)
				seq := r.Int64N(l.PerTick())
				var n Node
				if l.Has(FieldGenerator) {
					n.Generator = r.Int64N(l.Max(FieldGenerator) + 1)
				} else {
					n.DC, n.Worker = r.Int64N(l.Max(FieldDC)+1), r.Int64N(l.Max(FieldWorker)+1)
				}
				id, err := l.Compose(tick, seq, n)
				if err != nil {
					t.Fatal(err)
				}
				p, err := l.Decode(id)
				if err != nil {
					t.Fatal(err)
				}
				if l.Ticks(p.Time) != tick || p.Sequence != seq || p.Node() != n || !p.Time.Equal(l.TickTime(tick)) {
					t.Fatalf("Decode(Compose(%d, %d, %+v)) = %+v", tick, seq, n, p)
				}
			}
		})
	}
}

func TestComposeRejects(t *testing.T) {
	l := DefaultLayout()
	if _, err := l.Compose(1<<40, 0, Node{}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("tick 2^40: %v", err)
	}
	if _, err := l.Compose(0, 4096, Node{}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("seq 4096: %v", err)
	}
}
