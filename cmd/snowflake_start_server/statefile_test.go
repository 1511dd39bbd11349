package main

import (
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// TestStateFile: the first run records a mark for dc 3 worker 7; a restart with the clock 5 s behind
// refuses to issue below it (503); a corrupt file stops the server from starting.
func TestStateFile(t *testing.T) {
	cmdtest.CheckStateFile(t, run, []string{"--dc", "3", "--worker", "7"}, snowfall.Node{DC: 3, Worker: 7})
}
