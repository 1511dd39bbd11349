package client

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// pollCalls calls NextID (1 s deadline each) every 50 ms for d and returns the calls answered and
// failed, and the last error.
func pollCalls(c *Client, d time.Duration) (ok, fail int, last error) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.NextID(ctx)
		cancel()
		if err != nil {
			fail++
			last = err
		} else {
			ok++
		}
		time.Sleep(50 * time.Millisecond)
	}
	return ok, fail, last
}

// TestLayoutPoison (red team, redteam-sec #1): a server listed first answers GET /stats with the
// default layout's spec but an epoch a year ahead, and 503 to every ID request. Its layout is its
// own: the healthy second server's IDs are decoded with the healthy server's layout and handed
// out. Before the fix the client learned that one layout for every server and refused each honest
// ID as dated a year ahead (FutureError): 22 of 22 calls failed over 5 s, for good.
func TestLayoutPoison(t *testing.T) {
	good := startServer(t, 7)
	bad := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stats" {
			fmt.Fprintf(w, `{"layout":"snowfall","spec":%q,"epoch_ms":%d}`, snowfall.DefaultLayout().Spec(),
				snowfall.DefaultLayout().EpochMs()+365*24*3600*1000)
			return
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	c := newClient(t, bad.URL, WithServers(good.URL))
	ok, fail, last := pollCalls(c, 5*time.Second)
	t.Logf("ok=%d fail=%d last=%v", ok, fail, last)
	if fail > 0 {
		t.Errorf("a healthy server is listed, yet %d of %d calls failed over 5 s (last: %v)", fail, ok+fail, last)
	}
}

// TestFloorPoisonRenewed (red team, redteam-sec #2): with the layout pinned, a server listed first
// answers, once a second, one ID of the healthy server's generator dated 9.5 s ahead (inside the
// default 10 s skew) and 503 otherwise. Its IDs order its own answers only: the healthy server's
// IDs are not refused. Before the fix that ID raised the generator's one floor, renewed every
// second: 24 of 30 calls failed over 6 s (OrderError from the healthy server).
func TestFloorPoisonRenewed(t *testing.T) {
	good := startServer(t, 7)
	l := snowfall.DefaultLayout()
	var seq, last atomic.Int64
	bad := startHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && time.Now().UnixMilli()-last.Load() > 1000 {
			last.Store(time.Now().UnixMilli())
			id, err := l.Compose(l.Ticks(time.Now().Add(9500*time.Millisecond)), seq.Add(1)%l.PerTick(), snowfall.Node{Generator: 7})
			if err != nil {
				panic(err)
			}
			fmt.Fprint(w, id)
			return
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
	})
	c := newClient(t, bad.URL, WithServers(good.URL), WithLayout(l))
	ok, fail, lastErr := pollCalls(c, 6*time.Second)
	t.Logf("ok=%d fail=%d last=%v", ok, fail, lastErr)
	if fail > 0 {
		t.Errorf("a healthy server is listed, yet %d of %d calls failed over 6 s (last: %v)", fail, ok+fail, lastErr)
	}
}
