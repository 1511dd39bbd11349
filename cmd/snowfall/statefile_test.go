package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/statefile"
)

// runServeState runs snowfall serve with a state file and returns the status and body of one GET /, or the
// error run returned before listening.
func runServeState(t *testing.T, path string, extra ...string) (int, string, error) {
	t.Helper()
	out := &addrWriter{addr: make(chan string, 1)}
	errb := &lockedBuffer{}
	sio := cli.IO{In: strings.NewReader(""), Out: out, Err: errb, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := append([]string{"--host", "127.0.0.1", "--port", "0", "--generator", "5", "--state-file", path}, extra...)
	done := make(chan error, 1)
	go func() { done <- serveCmd{}.Run(ctx, args, sio) }()
	var addr string
	select {
	case addr = <-out.addr:
	case err := <-done:
		return 0, "", err
	case <-time.After(10 * time.Second):
		t.Fatalf("no listen address; stderr %s", errb.String())
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v (stderr %s)", err, errb.String())
	}
	return resp.StatusCode, string(body), nil
}

// TestServeStateFile: the first run records a mark for generator 5; a restart with the clock 5 s behind
// refuses to issue below it (503); a corrupt file stops the server from starting.
func TestServeStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	code, body, err := runServeState(t, path)
	if err != nil || code != http.StatusOK {
		t.Fatalf("first run: %d %q %v", code, body, err)
	}
	st, err := statefile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (snowfall.Node{Generator: 5}); st.Node != want {
		t.Errorf("state file node = %+v, want %+v", st.Node, want)
	}
	id, err := snowfall.ParseID(body)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := st.Layout.Decode(id); p.Time.After(st.Mark) {
		t.Errorf("ID at %s above the recorded mark %s", p.Time, st.Mark)
	}

	if code, body, err := runServeState(t, path, "--clock-offset", "-5s"); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("restart with the clock 5s behind: %d %q %v; want 503", code, body, err)
	}

	b, _ := os.ReadFile(path)
	if err := os.WriteFile(path, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runServeState(t, path); !errors.Is(err, statefile.ErrCorrupt) {
		t.Errorf("start with a torn state file: %v, want ErrCorrupt", err)
	}
	err = serveCmd{}.Run(context.Background(), []string{"--db", "memory", "--state-file", path},
		cli.IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	if code := cli.ExitCode(err); code != cli.ExitUsage {
		t.Errorf("--state-file with --db: exit %d (%v), want %d", code, err, cli.ExitUsage)
	}
}
