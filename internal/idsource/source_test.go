package idsource

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// waitReady polls url's /readyz until it answers 200.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/readyz still %d after 20s", url, resp.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOpenListenServe: each kind of source opens, serves IDs of its node over HTTP on the address
// the listen line names, stops when ctx is done and closes (twice is fine).
func TestOpenListenServe(t *testing.T) {
	l := snowfall.DefaultLayout()
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		cfg  Config
		gen  int64 // the generator id, or -1 for any
	}{
		{"static", Config{Layout: l, Node: snowfall.Node{Generator: 7}}, 7},
		{"state file", Config{Layout: l, Node: snowfall.Node{Generator: 9}, StateFile: filepath.Join(dir, "state")}, 9},
		{"leased", Config{DB: mustParse(t, "sqlite://"+filepath.Join(dir, "leases.db")), DBTimeout: 10 * time.Second}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var logs bytes.Buffer
			c.cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src, err := Open(ctx, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			ln, err := Listen(ctx, src, ListenConfig{Host: "127.0.0.1", Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			addr, ok := ParseListen(out.String())
			if !ok {
				t.Fatalf("listen line %q: no address", out.String())
			}
			done := make(chan error, 1)
			go func() { done <- ln.Serve(ctx) }()
			waitReady(t, "http://"+addr) // a leased source acquires in the background
			resp, err := http.Get("http://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /: %d %q", resp.StatusCode, body)
			}
			if p, err := l.Decode(snowfall.ID(id)); err != nil || (c.gen >= 0 && p.Generator != c.gen) {
				t.Errorf("ID %d: generator %d (%v), want %d", id, p.Generator, err, c.gen)
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			if err := src.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			src.Close()
			if !c.cfg.DB.IsZero() && !strings.Contains(logs.String(), "lease released") {
				t.Errorf("log does not say the lease was released: %s", logs.String())
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	if _, err := Open(context.Background(), Config{Layout: snowfall.DefaultLayout(), Node: snowfall.Node{Generator: 1 << 20}, Logger: log}); err == nil {
		t.Error("a generator id out of range opened")
	}
	_, err := Open(context.Background(), Config{DB: mustParse(t, "postgres://u:pw@127.0.0.1:1/db?sslmode=disable"), DBTimeout: 5 * time.Second, Logger: log,
		ExitOnStartFailure: true})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("closed port: %v", err)
	}
}

func mustParse(t *testing.T, raw string) redact.URL {
	t.Helper()
	u, err := assignurl.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
