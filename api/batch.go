package api

import "github.com/snowfall-go/snowfall"

// Batch is the JSON answer of GET /ids?n=N: {"ids":["…",…]}, N IDs as decimal strings, strictly
// increasing. The server streams it a chunk at a time, byte for byte what encoding/json writes for
// this type.
type Batch struct {
	IDs []snowfall.ID `json:"ids"`
}
