package statefile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/statefile"
)

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "generator-5.state")

	src, err := statefile.Open(statefile.Settings{Path: path, Node: snowfall.Node{Generator: 5}})
	if err != nil {
		fmt.Println(err)
		return
	}
	id, _ := src.NextContext(context.Background())
	src.Close()

	// After a restart, even with a clock that stepped back, IDs start above the recorded mark.
	src, err = statefile.Open(statefile.Settings{Path: path, Node: snowfall.Node{Generator: 5}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	next, _ := src.NextContext(context.Background())
	p, _ := src.Layout().Decode(next)
	fmt.Println(next > id, p.Generator)
	// Output: true 5
}
