package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/client"
	"github.com/snowfall-go/snowfall/internal/server"
)

// startExampleServer stands in for a running snowfall serve.
func startExampleServer() *httptest.Server {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 12}})
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.New(server.Config{Source: g})
	if err != nil {
		log.Fatal(err)
	}
	return httptest.NewServer(srv.Handler())
}

func ExampleClient_NextID() {
	ts := startExampleServer()
	defer ts.Close()

	c, err := client.New(ts.URL, client.WithPrefetch(4096, 1024, time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	a, err := c.NextID(ctx)
	if err != nil {
		log.Fatal(err)
	}
	b, err := c.NextID(ctx)
	if err != nil {
		log.Fatal(err)
	}
	d, err := c.Decode(ctx, b)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(b > a, d.Generator)
	// Output: true 12
}

func ExampleGetGUID() {
	ts := startExampleServer()
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	port, _ := strconv.Atoi(u.Port())

	client.Setup(u.Hostname(), port)
	id, err := client.GetGUID()
	if err != nil {
		log.Fatal(err)
	}
	st, err := client.GetStats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(id > 0, st.Layout, st.IDsGenerated)
	// Output: true snowfall 1
}
