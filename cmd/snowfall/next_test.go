package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/cli"
)

// runCmd runs the snowfall command line with args and returns its exit code, stdout and stderr.
func runCmd(t *testing.T, stdin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	sio := cli.IO{In: strings.NewReader(stdin), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	code := report(run(context.Background(), args, sio), sio)
	return code, out.String(), errb.String()
}

func TestNext(t *testing.T) {
	code, out, errs := runCmd(t, "", nil, "next", "-n", "5000", "--generator", "9", "--state-file", tempState(t))
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Fields(out)
	if len(lines) != 5000 {
		t.Fatalf("got %d lines, want 5000", len(lines))
	}
	var prev snowfall.ID = -1
	for _, s := range lines {
		id, err := snowfall.ParseID(s)
		if err != nil {
			t.Fatal(err)
		}
		if id <= prev {
			t.Fatalf("%d after %d", id, prev)
		}
		prev = id
		if p, _ := snowfall.DefaultLayout().Decode(id); p.Generator != 9 {
			t.Fatalf("%d has generator %d, want 9", id, p.Generator)
		}
	}
}

func TestNextLayoutAndEnv(t *testing.T) {
	env := map[string]string{"SNOWFALL_DC": "3", "SNOWFALL_WORKER": "200"}
	code, out, errs := runCmd(t, "", env, "next", "--layout", "pysnowflake", "--worker", "7", "--epoch", "2024-01-01T00:00:00Z", "--state-file", tempState(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	l, _ := snowfall.Preset(snowfall.PresetPysnowflake)
	l, _ = l.WithEpoch(snowfall.DefaultLayout().Epoch().AddDate(4, 0, 0))
	id, _ := snowfall.ParseID(strings.TrimSpace(out))
	p, _ := l.Decode(id)
	if p.DC != 3 || p.Worker != 7 {
		t.Errorf("dc %d worker %d, want 3 (env) and 7 (flag beats env)", p.DC, p.Worker)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"no command", nil, nil, 2, "no command"},
		{"unknown command", nil, []string{"bogus"}, 2, `unknown command "bogus"`},
		{"unknown flag", nil, []string{"next", "--nope"}, 2, "is not one of the flags below"}, // next takes --db: the word is not shown
		{"n zero", nil, []string{"next", "-n", "0"}, 2, "-n 0 out of range [1, 10000000]"},
		{"generator range", nil, []string{"next", "--generator", "2048"}, 2, "generator 2048 out of range [0, 2047]"},
		{"worker range", nil, []string{"next", "--layout", "twitter", "--worker", "32"}, 2, "worker 32 out of range [0, 31]"},
		{"dc on gen layout", nil, []string{"next", "--dc", "1"}, 2, "use --generator"},
		{"bad layout", nil, []string{"next", "--layout", "time=10"}, 2, "--layout"},
		{"future epoch", nil, []string{"next", "--epoch", "2999-01-01T00:00:00Z"}, 2, "in the future"},
		{"bad epoch", nil, []string{"decode", "--epoch", "yesterday", "1"}, 2, "neither RFC 3339"},
		{"bad env", map[string]string{"SNOWFALL_GENERATOR": "x"}, []string{"next"}, 2, "SNOWFALL_GENERATOR"},
		{"help", nil, []string{"next", "-h"}, 0, "usage: snowfall next"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", tt.env, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, errs, tt.code, tt.want)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	code, out, errs := runCmd(t, "", nil, "decode", "--layout", "pysnowflake", "3631957913783762945")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := `{"id":"3631957913783762945","unix_ms":1416207845161,"time":"2014-11-17T07:04:05.161Z","sequence":1,"dc":0,"worker":0}` + "\n"
	if out != want {
		t.Errorf("got %s want %s", out, want)
	}
}

func TestDecodeStdinAndMalformed(t *testing.T) {
	_, ids, _ := runCmd(t, "", nil, "next", "-n", "3", "--generator", "5", "--state-file", tempState(t))
	code, out, errs := runCmd(t, ids+"not-an-id\n\n", nil, "decode")
	if code != 1 {
		t.Fatalf("exit %d, want 1 for a malformed ID", code)
	}
	if !strings.Contains(errs, `"not-an-id"`) {
		t.Errorf("stderr %q does not name the bad input", errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d decoded lines, want 3: %q", len(lines), out)
	}
	for _, line := range lines {
		var d snowfall.Decoded
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		if d.Generator != 5 || strings.Contains(line, `"dc"`) {
			t.Errorf("decoded %s, want generator 5 and no dc", line)
		}
	}
}
