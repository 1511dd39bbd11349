// Package api holds the JSON documents of Snowfall's HTTP API: internal/server writes them, and
// package client reads them. Each document is defined once, here, so that the two sides cannot drift
// apart; other clients may use the types too.
//
//	GET /ids?n=N        Batch, when the request accepts application/json (else one decimal ID a line)
//	GET /stats          Stats, with a Lease where the server holds its generator id on a lease
//	GET /decode/{id}    snowfall.Decoded
//	any error status    Error
//
// GET / answers one ID as a bare decimal number, and /livez, /readyz and /healthz answer plain
// text: "ok" or the reason the server cannot issue IDs now.
//
// Times written as text are RFC 3339 in UTC with milliseconds (snowfall.TimeFormat), the others
// Unix milliseconds; durations are seconds as JSON numbers; IDs in JSON documents are decimal
// strings (JSON numbers lose precision above 2^53 in many readers).
package api

// MaxBatch is the most IDs one GET /ids request may ask for from a server with default settings.
const MaxBatch = 100_000
