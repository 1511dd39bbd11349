package main

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/server"
)

// idServer starts a real ID server over a generator with id gen on a random loopback port.
func idServer(t *testing.T, gen int64) *httptest.Server {
	t.Helper()
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: gen}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Source: g})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

// runClientCmd calls c.Run with buffers for its streams.
func runClientCmd(t *testing.T, c cli.Command, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	err := c.Run(context.Background(), args, sio)
	return out.String(), errb.String(), err
}

func TestGetCmd(t *testing.T) {
	ts := idServer(t, 11)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"one by default", nil, []string{"--server", ts.URL}, 1},
		{"n", nil, []string{"--server", ts.URL, "-n", "250001"}, 250001},
		{"server from env", map[string]string{"SNOWFALL_SERVER": ts.URL}, []string{"-n", "3"}, 3},
		{"flag beats env", map[string]string{"SNOWFALL_SERVER": "http://127.0.0.1:1"}, []string{"--server", ts.URL, "-n", "2"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, err := runClientCmd(t, getCmd{}, tt.env, tt.args...)
			if err != nil {
				t.Fatalf("get %v: %v (stderr %q)", tt.args, err, errs)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != tt.want {
				t.Fatalf("get %v printed %d lines, want %d", tt.args, len(lines), tt.want)
			}
			seen := make(map[snowfall.ID]bool, len(lines))
			for _, s := range lines {
				id, err := snowfall.ParseID(s)
				if err != nil {
					t.Fatalf("line %q: %v", s, err)
				}
				if p, _ := snowfall.DefaultLayout().Decode(id); p.Generator != 11 || seen[id] {
					t.Fatalf("ID %d: generator %d, seen before %v; want generator 11, new", id, p.Generator, seen[id])
				}
				seen[id] = true
			}
		})
	}
}

func TestStatsCmd(t *testing.T) {
	ts := idServer(t, 12)
	if _, _, err := runClientCmd(t, getCmd{}, nil, "--server", ts.URL, "-n", "5"); err != nil {
		t.Fatal(err)
	}
	out, errs, err := runClientCmd(t, statsCmd{}, map[string]string{"SNOWFALL_SERVER": ts.URL})
	if err != nil {
		t.Fatalf("stats: %v (stderr %q)", err, errs)
	}
	for _, want := range []string{"{\n  \"dc\": 0,\n", `  "generator": 12,`, `  "layout": "snowfall",`, `  "ids_generated": 5,`, `  "sequence_overload": `} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
}

// TestClientCmdErrors checks exit codes and messages through the whole command line.
func TestClientCmdErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"n zero", nil, []string{"get", "-n", "0"}, 2, "-n 0 out of range"},
		{"n too large", nil, []string{"get", "-n", "10000001"}, 2, "out of range"},
		{"stray argument", nil, []string{"get", "x"}, 2, "unexpected argument after the flags (it is not shown"},
		{"bad server", nil, []string{"stats", "--server", "ftp://x"}, 2, "--server: not a valid server URL (value hidden): its scheme is not http or https"},
		{"server with a password", nil, []string{"get", "--server", "http://u:hunter2@127.0.0.1:1"}, 2, "--server: the URL holds a user or password, which get does not send"},
		{"server from the environment", map[string]string{"SNOWFALL_SERVER": "http://h:1/?x"}, []string{"stats"}, 2, "SNOWFALL_SERVER: not a valid server URL (value hidden): it holds a query"},
		{"bad env timeout", map[string]string{"SNOWFALL_TIMEOUT": "soon"}, []string{"get"}, 2, "SNOWFALL_TIMEOUT"},
		{"dead server get", nil, []string{"get", "--server", dead}, 1, "connection refused"},
		{"dead server stats", map[string]string{"SNOWFALL_SERVER": dead}, []string{"stats"}, 1, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tt.env, tt.args...)
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			last := lines[len(lines)-1] // after the usage, for usage errors
			if code != tt.code || !strings.Contains(last, tt.msg) || !strings.HasPrefix(last, "snowfall: ") {
				t.Errorf("snowfall %v: exit %d, stderr %q; want exit %d, a message with %q", tt.args, code, errs, tt.code, tt.msg)
			}
			if out != "" {
				t.Errorf("snowfall %v: stdout %q, want nothing", tt.args, out)
			}
		})
	}
}
