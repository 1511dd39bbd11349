package api

// Error is the body of every answer with an error status: {"error":"…"}. Message says what is
// wrong in words fit for anonymous clients.
type Error struct {
	Message string `json:"error"`
}
