package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/cli"
)

// TestProbe checks snowfall probe against a running server: 0 for a path that answers 200, 1 for
// one that does not, 2 for a bad command line.
func TestProbe(t *testing.T) {
	s := startServe(t, nil, "--generator", "3")
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"healthz", []string{"--server", s.URL, "/healthz"}, 0, "200 OK"},
		{"default path", []string{"--server", s.URL}, 0, "/healthz: 200 OK"},
		{"livez", []string{"--server", s.URL + "/", "/livez"}, 0, "/livez: 200 OK"},
		{"not a probe path", []string{"--server", s.URL, "/nope"}, 2, "the path is not /livez, /readyz or /healthz"},
		{"no server", []string{"--server", "http://127.0.0.1:1", "/healthz"}, 1, "127.0.0.1:1"},
		{"path without slash", []string{"--server", s.URL, "healthz"}, 2, "the path is not"},
		{"bad server", []string{"--server", "ftp://x", "/healthz"}, 2, "--server: not a valid server URL (value hidden): its scheme is not http or https"},
		{"two paths", []string{"--server", s.URL, "/livez", "/readyz"}, 2, "unexpected argument after the flags"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(t.Context(), append([]string{"probe"}, c.args...), cli.IO{Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
			if code := cli.ExitCode(err); code != c.code {
				t.Fatalf("exit %d (%v), want %d", code, err, c.code)
			}
			got := out.String() + errb.String()
			if err != nil {
				got += err.Error()
			}
			if !strings.Contains(got, c.want) {
				t.Errorf("output %q does not mention %q", got, c.want)
			}
		})
	}
}

// TestProbeSpendsNoID: whatever --server and the path hold (a query, a fragment, an ID path, dot
// segments, escapes, a redirect), probe asks only for a probe path, and the server issues no ID.
// A --server with a '?' or '#' used to request / (spending an ID) while printing the asked path,
// and any path was asked for, /ids?n=100000 included.
func TestProbeSpendsNoID(t *testing.T) {
	s := startServe(t, nil, "--generator", "3")
	host := strings.TrimPrefix(s.URL, "http://")
	servers := []string{s.URL, s.URL + "/", host, s.URL + "/?", s.URL + "?n=5", s.URL + "#x", s.URL + "/ids?n=100000#", s.URL + "/#/ids",
		s.URL + "/ids?n=7", s.URL + "/decode", "http://u:p@" + host}
	paths := []string{"/healthz", "/livez", "/readyz", "/", "/ids?n=100000", "/ids", "/?", "/healthz?x=1", "/healthz#x", "//ids",
		"/healthz/../ids", "/%69ds", "/HEALTHZ", "/healthz/", "/decode/1", "ids", "", "/livez?n=3"}
	for _, server := range servers {
		for _, path := range paths {
			var out, errb bytes.Buffer
			args := []string{"probe", "--server", server}
			if path != "" {
				args = append(args, path)
			}
			err := run(t.Context(), args, cli.IO{Out: &out, Err: &errb, Getenv: func(string) string { return "" }})
			code := cli.ExitCode(err)
			if code == 0 && !strings.HasSuffix(strings.Fields(out.String())[0], "z:") {
				t.Errorf("probe %q %q: exit 0 on %q", server, path, out.String())
			}
		}
	}
	if st := getStats(t, s.URL); st.IDsGenerated != 0 {
		t.Errorf("the probes spent %d IDs", st.IDsGenerated)
	}
}
