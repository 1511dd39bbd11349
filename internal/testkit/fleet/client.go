package fleet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/snowfall-go/snowfall"
)

// Load describes the clients.
type Load struct {
	// PerServer is the number of clients pulling from each slot, each over its own connection.
	PerServer int
	// Pause is how long a client waits between requests, which bounds the load.
	Pause time.Duration
	// MaxBatch is the largest n of GET /ids?n=…; a third of the requests are single GET /.
	MaxBatch int
	// Timeout bounds one request.
	Timeout time.Duration
	// Seed makes the request mix repeatable.
	Seed uint64
}

// Pull runs the clients until ctx is done and returns what they recorded.
func (f *Fleet) Pull(ctx context.Context, ld Load) *Log {
	var mu sync.Mutex
	all := &Log{}
	var wg sync.WaitGroup
	for i := range f.slots {
		for c := range ld.PerServer {
			rng := rand.New(rand.NewPCG(ld.Seed, uint64(i*1000+c)))
			wg.Go(func() {
				lg := f.client(ctx, i, ld, rng)
				mu.Lock()
				all.Requests = append(all.Requests, lg.Requests...)
				all.Failures = append(all.Failures, lg.Failures...)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return all
}

// client pulls IDs from slot i sequentially, over one keep-alive connection at a time.
func (f *Fleet) client(ctx context.Context, i int, ld Load, rng *rand.Rand) *Log {
	tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: ld.Timeout}
	lg := &Log{}
	for ctx.Err() == nil {
		addr, proc := f.Current(i)
		if addr == "" {
			lg.Failures = append(lg.Failures, Failure{Server: i, At: f.Since()})
			sleep(ctx, 20*time.Millisecond)
			continue
		}
		n := 1
		u := "http://" + addr + "/"
		if ld.MaxBatch > 1 && rng.IntN(3) > 0 {
			n = 2 + rng.IntN(ld.MaxBatch-1)
			u = "http://" + addr + "/ids?n=" + strconv.Itoa(n)
		}
		start := f.Since()
		ids, err := get(ctx, hc, u, n)
		end := f.Since()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			lg.Failures = append(lg.Failures, Failure{Server: i, At: end})
			sleep(ctx, max(ld.Pause, 20*time.Millisecond))
			continue
		}
		lg.Requests = append(lg.Requests, Request{Server: i, Process: proc, Start: start, End: end, IDs: ids})
		sleep(ctx, ld.Pause)
	}
	return lg
}

// get asks for n IDs: a bare decimal for GET /, one per line for /ids.
func get(ctx context.Context, hc *http.Client, u string, n int) ([]snowfall.ID, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	ids := make([]snowfall.ID, 0, n)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		id, err := snowfall.ParseID(sc.Text())
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("%d IDs in the answer, asked for %d", len(ids), n)
	}
	return ids, nil
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
