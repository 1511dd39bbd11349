package server_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/server"
)

// TestDrain: once Serve's context is done, /readyz answers 503 and answers close their connections
// while IDs are still served for DrainDelay; then the listener closes and Serve returns nil.
// SkipDrain ends the delay at once.
func TestDrain(t *testing.T) {
	for _, skip := range []bool{false, true} {
		name := "delay"
		if skip {
			name = "skipped"
		}
		t.Run(name, func(t *testing.T) {
			const delay = 400 * time.Millisecond
			srv, err := server.New(server.Config{Source: newGenerator(t, snowfall.Settings{}), DrainDelay: delay})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + ln.Addr().String()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- srv.Serve(ctx, ln) }()
			if a := do(t, "GET", url+"/readyz"); a.code != 200 {
				t.Fatalf("/readyz before: %d", a.code)
			}
			start := time.Now()
			cancel()
			time.Sleep(50 * time.Millisecond)
			if skip {
				srv.SkipDrain()
			} else {
				if a := do(t, "GET", url+"/readyz"); a.code != 503 || !strings.Contains(a.body, "shutting down") {
					t.Errorf("/readyz while draining: %d %q, want 503 shutting down", a.code, a.body)
				}
				resp, err := http.Get(url + "/")
				if err != nil || resp.StatusCode != 200 || !resp.Close {
					t.Errorf("GET / while draining: %v %v, want 200 closing the connection", resp, err)
				} else {
					resp.Body.Close()
				}
				if a := do(t, "GET", url+"/livez"); a.code != 200 {
					t.Errorf("/livez while draining: %d", a.code)
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			took := time.Since(start)
			switch {
			case skip && took > delay:
				t.Errorf("Serve returned %v after cancel despite SkipDrain", took)
			case !skip && took < delay:
				t.Errorf("Serve returned %v after cancel, before the %v delay", took, delay)
			}
			c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			if _, err := c.Get(url + "/"); err == nil {
				t.Error("still answering after Serve returned")
			}
		})
	}
}
