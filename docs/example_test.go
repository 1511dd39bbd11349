package docs_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres" // the driver package for postgres: URLs
)

// Example_generator is the library snippet of README.md and docs/library.md.
func Example_generator() {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 42}})
	if err != nil {
		log.Fatal(err) // a generator out of range, an epoch in the future …
	}
	id, err := g.Next() // lock-free, safe from any number of goroutines
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id > 0)
	// Output: true
}

// Example_leased is the lease snippet of docs/library.md. It needs a database at db:5432, so it
// is compiled, not run.
func Example_leased() {
	ctx := context.Background()
	// import _ "github.com/snowfall-go/snowfall/sqlassign/postgres" (the driver package for postgres: URLs)
	a, err := sqlassign.Open(ctx, "postgres://postgres@db:5432/ids?sslmode=disable", sqlassign.Options{})
	if err != nil {
		log.Fatal(err)
	}
	g, err := snowfall.NewLeased(ctx, a, snowfall.LeaseSettings{}) // claims a free id, renews it in the background
	if err != nil {
		log.Fatal(err)
	}
	defer g.Close() // records the last timestamp, frees the id at once
	id, err := g.NextContext(ctx)
	fmt.Println(id, err)
}

// Example_client is the client snippet of README.md and docs/api.md. It needs servers at ids-a and
// ids-b, so it is compiled, not run.
func Example_client() {
	ctx := context.Background()
	c, err := client.New("http://ids-a:8910",
		client.WithServers("http://ids-b:8910"),      // failover (default) or round-robin: WithPolicy
		client.WithPrefetch(8192, 2048, time.Second)) // buffer, refill below, drop IDs older than
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	id, err := c.NextID(ctx)
	ids, err := c.NextIDs(ctx, 1000)
	st, err := c.Stats(ctx) // every key of /stats, typed (api.Stats)
	fmt.Println(id, ids, st, err)
}
