package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// TestEnvRangeErrorsNameTheVariable: a value out of range that came from the environment is named
// by its variable, one from the command line by its flag, for every flag with a range.
func TestEnvRangeErrorsNameTheVariable(t *testing.T) {
	for _, c := range []struct {
		cmd            []string
		flag, variable string
		value          string
	}{
		{[]string{"next"}, "-n", "SNOWFALL_N", "0"},
		{[]string{"next"}, "-n", "SNOWFALL_N", "10000001"},
		{[]string{"get"}, "-n", "SNOWFALL_N", "0"},
		{[]string{"get"}, "--timeout", "SNOWFALL_TIMEOUT", "1h"},
		{[]string{"stats"}, "--timeout", "SNOWFALL_TIMEOUT", "0s"},
		{[]string{"probe"}, "--timeout", "SNOWFALL_TIMEOUT", "-1s"},
		{[]string{"next"}, "--generator", "SNOWFALL_GENERATOR", "2048"},
		{[]string{"next", "--layout", "pysnowflake"}, "--worker", "SNOWFALL_WORKER", "256"},
		{[]string{"next"}, "--layout", "SNOWFALL_LAYOUT", "time=1"},
		{[]string{"next"}, "--epoch", "SNOWFALL_EPOCH", "yesterday"},
		{[]string{"decode", "1"}, "--epoch", "SNOWFALL_EPOCH", "99999999999999999"},
		{[]string{"serve", "--host", "127.0.0.1", "--port", "0"}, "--max-conns", "SNOWFALL_MAX_CONNS", "0"},
	} {
		name := strings.TrimLeft(c.flag, "-")
		t.Run(c.variable+"="+c.value, func(t *testing.T) {
			code, _, errs := runCmd(t, "", map[string]string{c.variable: c.value}, c.cmd...)
			if code != 2 || !strings.Contains(errs, c.variable) {
				t.Errorf("%s=%s %v: exit %d, stderr %q; want 2 and the variable named", c.variable, c.value, c.cmd, code, errs)
			}
			args := append([]string{c.cmd[0], "-" + name, c.value}, c.cmd[1:]...)
			code, _, errs = runCmd(t, "", nil, args...)
			if code != 2 || !strings.Contains(errs, c.flag) || strings.Contains(errs, c.variable) {
				t.Errorf("%v %s %s: exit %d, stderr %q; want 2 and the flag named", c.cmd, c.flag, c.value, code, errs)
			}
		})
	}
}

// TestHostErrors: a --host that is no address exits 2 naming the flag (it used to exit 1 with the
// resolver's words); an empty --host is refused, as an empty SNOWFALL_HOST is ignored, rather than
// meaning every interface in one place and localhost in the other.
func TestHostErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"not an address", nil, []string{"--host", "not an address"}, `--host "not an address"`},
		{"unknown name", nil, []string{"--host", "nonexistent-snowfall.invalid"}, `--host "nonexistent-snowfall.invalid"`},
		{"from the environment", map[string]string{"SNOWFALL_HOST": "a..b"}, nil, `SNOWFALL_HOST "a..b"`},
		{"empty", nil, []string{"--host", ""}, "--host: empty"},
		{"white space", nil, []string{"--host", " 127.0.0.1"}, `--host " 127.0.0.1"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, errs := runWithin(t, 5*time.Second, c.env, append([]string{"serve", "--generator", "1", "--port", "0"}, c.args...)...)
			if code != 2 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errs, c.want)
			}
		})
	}
	// An empty SNOWFALL_HOST is no value, like every empty SNOWFALL_ variable: the default.
	s := startServe(t, map[string]string{"SNOWFALL_HOST": ""}, "--generator", "1")
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("serve with SNOWFALL_HOST='' listens on %s, want 127.0.0.1 (localhost)", s.URL)
	}
}

// runWithin runs a command in-process for at most limit (a server it wrongly starts is stopped
// then) and returns its exit code and stderr.
func runWithin(t *testing.T, limit time.Duration, env map[string]string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	var out, errb bytes.Buffer
	sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	code := report(run(ctx, args, sio), sio)
	if ctx.Err() != nil {
		return -1, "still running after " + limit.String() + "; stdout " + out.String() + "; stderr " + errb.String()
	}
	return code, errb.String()
}

// TestWhiteSpaceRefusedAlike: a number, a layout, an epoch, a duration and a URL with white space
// around them are refused alike, from the command line and from the environment (numbers were
// refused, layouts and epochs trimmed).
func TestWhiteSpaceRefusedAlike(t *testing.T) {
	for _, c := range []struct {
		flag, value string
	}{
		{"n", "5"},
		{"generator", "1"},
		{"layout", "snowfall"},
		{"layout", "time=41,seq=12,gen=10"},
		{"epoch", "2020-01-01T00:00:00Z"},
		{"epoch", "1577836800000"},
	} {
		for _, ws := range []string{" ", "\t", "\n", "\u00a0"} {
			for _, v := range []string{ws + c.value, c.value + ws} {
				code, _, errs := runCmd(t, "", nil, "next", "--"+c.flag, v)
				if code != 2 {
					t.Errorf("next --%s %q: exit %d, want 2; stderr %q", c.flag, v, code, errs)
				}
				env := "SNOWFALL_" + strings.ToUpper(c.flag)
				code, _, errs = runCmd(t, "", map[string]string{env: v}, "next")
				if code != 2 || !strings.Contains(errs, env) {
					t.Errorf("%s=%q next: exit %d, want 2 naming the variable; stderr %q", env, v, code, errs)
				}
			}
		}
		args := []string{"next", "--" + c.flag, c.value, "--state-file", tempState(t)}
		if c.flag != "generator" {
			args = append(args, "--generator", "1")
		}
		code, _, errs := runCmd(t, "", nil, args...)
		if code != 0 {
			t.Errorf("next --%s %q: exit %d; stderr %q", c.flag, c.value, code, errs)
		}
	}
}

// TestLeadingZeros: a number is its value, however many zeros lead it: -n and /ids?n= take
// 5, 05, 000000000005 and 0000000000000000000000005 alike (n=0000000000005, thirteen digits,
// was "not a number"), and a value out of range is out of range whatever its width.
func TestLeadingZeros(t *testing.T) {
	s := startServe(t, nil, "--generator", "1")
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db") // next leases a generator id: quicker than a state file's start
	r := rand.New(rand.NewPCG(5, 5))
	for range 40 {
		zeros := strings.Repeat("0", r.IntN(40))
		n := 1 + r.IntN(9)
		v := zeros + fmt.Sprint(n)
		code, out, errs := runCmd(t, "", nil, "next", "-n", v, "--db", db)
		if code != 0 || len(strings.Fields(out)) != n {
			t.Errorf("next -n %s: exit %d, %d IDs, want %d; stderr %q", v, code, len(strings.Fields(out)), n, errs)
		}
		resp, err := http.Get(s.URL + "/ids?n=" + v)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("/ids?n=%s: %d, want 200", v, resp.StatusCode)
		}
		big := zeros + "99999999999999999999"
		if code, _, errs := runCmd(t, "", nil, "next", "-n", big); code != 2 || !strings.Contains(errs, "out of range") {
			t.Errorf("next -n %s: exit %d, stderr %q; want 2 and out of range", big, code, errs)
		}
		if code, body := cmdtest.Get(t, s.URL+"/ids?n="+big); code != 400 || !strings.Contains(body, "out of range") {
			t.Errorf("/ids?n=%s: %d %q, want 400 and out of range", big, code, body)
		}
	}
}
