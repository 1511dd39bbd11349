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
// A Client keeps connections alive and reuses them. With several servers it is built to keep
// answering while some of them fail or hang:
//
//   - each request to one server is bounded by the client's timeout (WithTimeout) and by an equal
//     share of what is left of the call's deadline among the servers not yet asked, so one server
//     that hangs can never use up a call;
//   - when the server asked has not answered within the hedge delay (about the 99th percentile of
//     recent latencies, 10 to 50 ms by default: WithHedging), the call asks the next one too and
//     takes the first good answer; IDs in answers that lose are discarded and counted
//     (ClientStats), never handed out;
//   - a server that fails (a connection error, no answer in its bound or before the call's
//     deadline, a 3xx, 4xx or 5xx status, an answer the client refuses) backs off, longer after
//     each failure and as long as its Retry-After asks; servers backing off or slow are asked after
//     the others, with either policy. A 4xx ends a call only when every server refused the request
//     with the same status and message; arguments every server would refuse are refused before any
//     request;
//   - when every server refused, the call asks them all again after 25, 50 and 100 ms, within
//     250 ms of its start; when none answers, the call returns an AllFailedError carrying each
//     server's error. Servers known to be failing get short bounds and are asked at once, so a
//     fleet that is wholly down fails calls within about a quarter of a second, not after a sum of
//     timeouts.
//
// Error statuses come back as a ServerError with the status and the server's message, made
// printable and clipped to 512 bytes. Redirects are never followed.
//
// The client trusts no server with its IDs, and judges each answer by what its own server said:
// NextIDs takes at most MaxNextIDs; an answer whose IDs do not increase is refused; each server's
// IDs are read with that server's layout, learned from its own GET /stats on a goroutine of the
// client (asking again with a growing pause while that fails) or given to every server with
// WithLayout, and calls do not wait for it beyond their hedge delay. Order is checked per server:
// every ID must be above each ID of its generator (the node fields of the layout) that the client
// had received from the same server before the request was sent, and differ from each one received
// from it while the request was in flight, so a server that replays its IDs gets an OrderError
// (ErrIDOrder), not IDs handed out twice. Across servers, an ID equal to one of the last 65,536
// IDs the client accepted from any server is refused, and so is one dated more than WithMaxSkew
// before the client's clock and at or below an ID of its generator accepted from any server
// (under the same layout): a replay of another server's IDs is refused when it is recent (an exact
// repeat) or old. One server's IDs refuse another server's answer only when that answer holds an
// ID the client already handed out: a hostile server that hands out, dated ahead within
// WithMaxSkew, the very IDs another server will issue makes those honest answers repeats, refused
// until that server's clock passes them. The trade-off: the client does not check the order between servers, so an ID from one
// server may be below an ID of its generator received from another (as in a takeover), and a
// hostile server that replays another server's IDs under a layout of its own invention escapes the
// old-replay check (pin the layout with WithLayout to keep it). An ID dated more than WithMaxSkew
// ahead of the client's clock is refused too (a FutureError).
//
// A server address with a user or password is refused; no error, log line or rendering of the
// client shows it.
//
// With WithPrefetch, NextID takes IDs from a buffer that a background goroutine fills with batch
// requests, so it rarely waits on the network. Refills are bounded and hedged like calls, so a server
// that hangs cannot empty the buffer. Each ID is handed out once; IDs older than the
// maximum age are dropped, so that the IDs a process uses stay close to time-sorted. IDs come from
// the server, which never issues one twice, so IDs from several clients never collide either.
package client
