package client

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/api"
)

// DefaultServer is where the package-level functions send requests until Setup is called.
const DefaultServer = "http://localhost:8910"

// std is the default client of the package-level functions.
type std struct {
	c   *Client
	err error // why Setup could not make a client
}

var (
	stdMu  sync.Mutex // serialises Setup and the lazy creation of the first default
	stdPtr atomic.Pointer[std]
)

// Setup points the package-level functions, GetGUID and GetStats, at the server on host and port,
// as pysnowflake's client.setup does. It closes the default client it replaces; calls in flight on
// that one finish. An address New rejects makes later calls return New's error. Safe for
// concurrent use.
func Setup(host string, port int) {
	c, err := New("http://" + net.JoinHostPort(host, strconv.Itoa(port)))
	stdMu.Lock()
	old := stdPtr.Swap(&std{c: c, err: err})
	stdMu.Unlock()
	if old != nil && old.c != nil {
		old.c.Close()
	}
}

// defaultClient returns the default client, making it on first use.
func defaultClient() *std {
	if s := stdPtr.Load(); s != nil {
		return s
	}
	stdMu.Lock()
	defer stdMu.Unlock()
	if s := stdPtr.Load(); s != nil {
		return s
	}
	c, err := New(DefaultServer)
	s := &std{c: c, err: err}
	stdPtr.Store(s)
	return s
}

// withDefault calls f on the default client, again on the new one if Setup replaced it meanwhile.
func withDefault(f func(*Client) error) error {
	for {
		s := defaultClient()
		if s.err != nil {
			return s.err
		}
		err := f(s.c)
		if errors.Is(err, ErrClosed) && stdPtr.Load() != s {
			continue
		}
		return err
	}
}

// GetGUID returns a new ID from the default client's server (DefaultServer until Setup is called),
// bounded by DefaultTimeout.
func GetGUID() (snowfall.ID, error) {
	var id snowfall.ID
	err := withDefault(func(c *Client) (err error) {
		id, err = c.NextID(context.Background())
		return err
	})
	return id, err
}

// GetStats returns the stats of the default client's server (DefaultServer until Setup is called),
// bounded by DefaultTimeout.
func GetStats() (api.Stats, error) {
	var st api.Stats
	err := withDefault(func(c *Client) (err error) {
		st, err = c.Stats(context.Background())
		return err
	})
	return st, err
}
