package docs_test

import (
	"fmt"
	"log"

	"github.com/snowfall-go/snowfall"
)

// Example_shard is the shard snippet of docs/data.md.
func Example_shard() {
	id := snowfall.ID(1825500116031635456)
	l := snowfall.DefaultLayout()
	shard, err := l.Shard(id, 16) // in [0, 16)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shard, id%16)
	// Output: 6 0
}

// Example_floor is the migration snippet of docs/data.md.
func Example_floor() {
	old := snowfall.ID(1825500116031635456) // SELECT max(id) FROM … of the generator being replaced
	after, err := snowfall.ParseFloor(snowfall.DefaultLayout(), old.String())
	if err != nil {
		log.Fatal(err) // not an ID of the layout
	}
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 5}, After: after})
	if err != nil {
		log.Fatal(err)
	}
	id, err := g.Next()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id > old)
	// Output: true
}
