package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// TestLifetimeGaugeJS: the lifetime gauge of a server on the js preset counts down to the end of
// its 41-bit time field (2089-09-06), the layout's own figure, and the IDs it serves stay below
// 2^53.
func TestLifetimeGaugeJS(t *testing.T) {
	js, err := snowfall.Preset(snowfall.PresetJS)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	url := newServer(t, newGenerator(t, snowfall.Settings{Layout: js, Node: snowfall.Node{Generator: 31}}),
		server.Config{Now: func() time.Time { return now }})
	a := do(t, "GET", url+"/metrics")
	want := fmt.Sprintf("snowfall_layout_remaining_seconds %g", js.End().Sub(now).Seconds())
	if js.End().Format(time.DateOnly) != "2089-09-06" || !strings.Contains(a.body, want) {
		t.Errorf("js: end %v; metrics lack %q", js.End(), want)
	}
	if a := do(t, "GET", url+"/"); a.code != 200 {
		t.Fatalf("GET /: %d %q", a.code, a.body)
	} else if id, err := snowfall.ParseID(a.body); err != nil || id >= 1<<53 {
		t.Errorf("GET / = %q (%v), want an ID below 2^53", a.body, err)
	}
}
