package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/snowfall-go/snowfall/client"
)

// TestNextIDsRejectsDuplicates: a broken or hostile server's batch that does not strictly increase
// ("5 5 5", or going down) is an error, never IDs handed to the caller.
func TestNextIDsRejectsDuplicates(t *testing.T) {
	for _, body := range []string{"5\n5\n5\n", "7\n6\n8\n"} {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(body))
		}))
		c, err := client.New(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := c.NextIDs(context.Background(), 3)
		if !errors.Is(err, client.ErrBadResponse) {
			t.Errorf("body %q: NextIDs = %v, %v; want ErrBadResponse", body, ids, err)
		}
		c.Close()
		ts.Close()
	}
}
