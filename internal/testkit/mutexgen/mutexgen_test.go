package mutexgen

import (
	"sync"
	"testing"
	"time"
)

func TestUnique(t *testing.T) {
	g := New(4, 8, 5, time.Now().Add(-time.Hour))
	seen := map[int64]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5000 {
				id := g.Next()
				mu.Lock()
				if seen[id] {
					t.Errorf("duplicate %d", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 20000 {
		t.Fatalf("got %d IDs, want 20000", len(seen))
	}
}
