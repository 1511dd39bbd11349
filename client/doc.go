// Package client fetches Snowfall IDs from one or more ID servers (snowfall serve, or
// snowflake_start_server) over HTTP.
//
// It mirrors the Python client of pysnowflake:
//
//	client.Setup("localhost", 8910)
//	id, err := client.GetGUID()
//	st, err := client.GetStats()
//
// and goes past it with a Client of its own:
//
//	c, err := client.New("http://ids-a:8910",
//		client.WithServers("http://ids-b:8910"), // failover, or round-robin with WithPolicy
//		client.WithPrefetch(8192, 2048, time.Second))
//	defer c.Close()
//	id, err := c.NextID(ctx)
//
// The JSON documents it reads are package api's types, the ones the server writes: Stats returns an
// api.Stats with every key of GET /stats, the lease's included.
//
// A Client keeps connections alive and reuses them. Every request is bounded by the call's context
// and by a per-request timeout (WithTimeout). With several servers, a server that fails with a
// connection error, a timeout or a 5xx status sits out a short back-off while calls go to the
// others; when all fail, the call returns an AllFailedError carrying each server's error. Error
// statuses come back as a ServerError with the status and the server's message.
//
// With WithPrefetch, NextID takes IDs from a buffer that a background goroutine fills with batch
// requests, so it rarely waits on the network. Each ID is handed out once; IDs older than the
// maximum age are dropped, so that the IDs a process uses stay close to time-sorted. IDs come from
// the server, which never issues one twice, so IDs from several clients never collide either.
package client
