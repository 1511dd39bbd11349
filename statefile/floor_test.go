package statefile

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestFloor: a migration floor above the file's mark keeps the first IDs above it (the old
// generator's largest ID); one below the mark changes nothing, the mark still wins.
func TestFloor(t *testing.T) {
	l := snowfall.DefaultLayout()
	path := filepath.Join(t.TempDir(), "state")
	old, err := l.Compose(l.Ticks(time.Now().Add(300*time.Millisecond)), 4095, snowfall.Node{Generator: 2047})
	if err != nil {
		t.Fatal(err)
	}
	floor, err := snowfall.ParseFloor(l, old.String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead, After: floor})
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.NextContext(context.Background()) // waits 300 ms for the clock
	if err != nil {
		t.Fatal(err)
	}
	if id <= old {
		t.Fatalf("first ID %d, at or below the floor %d", id, old)
	}
	last := issue(t, s, testAhead)
	s.Close()

	s2, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead, After: floor})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	id2, err := s2.NextContext(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if id2 <= last {
		t.Fatalf("after a restart with an older floor: ID %d, not above %d issued before", id2, last)
	}
}
