package docs

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// testPostgres is the database the pages' postgres://postgres@db:5432/ids URL stands for here.
func testPostgres() string { return testdb.Postgres() }

// freePort returns a loopback port nobody listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The commands the pages run, each built once (see TestMain).
var (
	snowfallBin = cmdtest.Command("snowfall")
	psfBin      = cmdtest.Command("snowflake_start_server")
)

func TestMain(m *testing.M) {
	code := m.Run()
	snowfallBin.Remove()
	psfBin.Remove()
	os.Exit(code)
}

// binPath returns a PATH that finds the built commands first.
func binPath(t *testing.T) string {
	return strings.Join([]string{filepath.Dir(snowfallBin.Path(t)), filepath.Dir(psfBin.Path(t)), os.Getenv("PATH")},
		string(os.PathListSeparator))
}

var portFlag = regexp.MustCompile(`--port[ =][0-9]+`)

// hermetic rewrites a documented command to run here: go run ./cmd/snowfall is the built command,
// the example database is the test database, system paths are temporary directories, and
// localhost:8910 is the test's server.
func hermetic(text, tmp string, serverPort int) string {
	r := strings.NewReplacer(
		"go run ./cmd/snowfall ", "snowfall ",
		"'postgres://postgres@db:5432/ids?sslmode=disable'", "'"+testPostgres()+"'",
		"/var/lib/snowfall/", tmp+"/lib/",
		"/var/log/", tmp+"/log/",
		"localhost:8910", "127.0.0.1:"+strconv.Itoa(serverPort),
	)
	return r.Replace(text)
}

// isServer reports whether a command starts an ID server.
func isServer(ws []string) bool {
	return len(ws) > 0 && ws[0] == "snowflake_start_server" ||
		len(ws) > 1 && ws[0] == "snowfall" && ws[1] == "serve"
}

// TestDocCommandsRun runs every command of the pages that can run here: snowfall's commands,
// snowflake_start_server, curl and go doc. A server command is started on a free loopback port
// (its --port rewritten, or SNOWFALL_PORT), must become ready (GET /readyz answers 200), and must
// exit 0 on SIGTERM. Client commands (curl, snowfall get, stats, probe) go to a server this test
// starts. Console blocks' output must match, digits aside (decode output exactly).
func TestDocCommandsRun(t *testing.T) {
	var run []command
	for _, c := range commands(t) {
		if runnable(c) {
			run = append(run, c)
		}
	}
	tmp := t.TempDir()
	for _, d := range []string{"lib", "log", "state"} {
		if err := os.Mkdir(filepath.Join(tmp, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	checkUsages(t)
	port := freePort(t)
	env := append(os.Environ(),
		"PATH="+binPath(t),
		"XDG_STATE_HOME="+filepath.Join(tmp, "state"),
		"SNOWFALL_SERVER=http://127.0.0.1:"+strconv.Itoa(port),
	)
	stop := startServer(t, env, snowfallBin.Path(t)+" serve --generator 1 --port "+strconv.Itoa(port), port)
	defer stop()

	for _, c := range run {
		text := hermetic(c.text, tmp, port)
		_, ws := splitEnv(words(text))
		t.Run(c.file+":"+strconv.Itoa(c.line), func(t *testing.T) {
			if isServer(ws) {
				p := freePort(t)
				text = portFlag.ReplaceAllString(text, "--port="+strconv.Itoa(p))
				startServer(t, append(env, "SNOWFALL_PORT="+strconv.Itoa(p)), text, p)()
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", text)
			cmd.Dir, cmd.Env = "..", env
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s\n%s: %v\n%s", c, text, err, stderrOf(err))
			}
			checkOutput(t, c, strings.TrimRight(string(out), "\n"))
		})
	}
}

// checkUsages requires every "snowfall …" line of the pages' ```text blocks to be the usage line
// that command's -h prints.
func checkUsages(t *testing.T) {
	t.Helper()
	for _, p := range pages(t) {
		in := false
		for i, line := range strings.Split(readRepo(t, p), "\n") {
			switch {
			case strings.TrimSpace(line) == "```text":
				in = true
			case strings.TrimSpace(line) == "```":
				in = false
			case in && strings.HasPrefix(line, "snowfall "):
				// The subcommand: the words before the first flag or option (leases raise-marks).
				var sub []string
				for _, w := range strings.Fields(line)[1:] {
					if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "(") {
						break
					}
					sub = append(sub, w)
				}
				out, _ := exec.Command(snowfallBin.Path(t), append(sub, "-h")...).CombinedOutput()
				first, _, _ := strings.Cut(string(out), "\n")
				if first != "usage: "+line {
					t.Errorf("%s:%d: %s\n\tsnowfall %s -h says: %s", p, i+1, line, strings.Join(sub, " "), first)
				}
			}
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

var digits = regexp.MustCompile(`[0-9]+`)

// checkOutput compares a console command's output with the page's: exactly for decode, which is
// deterministic, and with every run of digits made equal for the rest (new IDs, times).
func checkOutput(t *testing.T, c command, got string) {
	t.Helper()
	if len(c.want) == 0 {
		return
	}
	want := strings.Join(c.want, "\n")
	if !strings.Contains(c.text, "decode") {
		got, want = digits.ReplaceAllString(got, "0"), digits.ReplaceAllString(want, "0")
	}
	if got != want {
		t.Errorf("%s\ngot:\n%s\nwant (as on the page):\n%s", c, got, want)
	}
}

// startServer starts a server command through bash, waits until GET /readyz on port answers 200,
// and returns a function that stops it with SIGTERM and checks it exits 0.
func startServer(t *testing.T, env []string, text string, port int) func() {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command("bash", "-c", "exec "+text)
	cmd.Dir, cmd.Env, cmd.Stderr = "..", env, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/readyz"
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("%s exited before it was ready: %v\n%s", text, err, stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("%s: %s did not answer 200 within a minute\n%s", text, url, stderr.String())
		}
	}
	return func() {
		t.Helper()
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s: after SIGTERM: %v\n%s", text, err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("%s: still running 30 s after SIGTERM\n%s", text, stderr.String())
		}
	}
}

// TestGoSnippetsCompile requires every ```go block of the pages to be part of an Example function
// (its lines, comments aside, appear in order in one Example's body), so that the snippet compiles
// with go vet and go test.
func TestGoSnippetsCompile(t *testing.T) {
	examples := exampleBodies(t)
	for _, p := range pages(t) {
		for _, s := range goSnippets(t, p) {
			if !slices.ContainsFunc(examples, func(body []string) bool { return subsequence(s.lines, body) }) {
				t.Errorf("%s:%d: this Go snippet is no Example function's body; put it in docs/example_test.go", p, s.line)
			}
		}
	}
}

type snippet struct {
	line  int
	lines []string
}

var lineComment = regexp.MustCompile(`(^|\s)//.*$`)

// codeLine is a line of Go without its comment and surrounding blanks.
func codeLine(s string) string {
	return strings.TrimSpace(lineComment.ReplaceAllString(s, ""))
}

func goSnippets(t *testing.T, page string) []snippet {
	t.Helper()
	var (
		out []snippet
		cur *snippet
	)
	for i, line := range strings.Split(readRepo(t, page), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &snippet{line: i + 1}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil && codeLine(line) != "":
			cur.lines = append(cur.lines, codeLine(line))
		}
	}
	return out
}

// exampleBodies returns the code lines of every Example function in the module's _test.go files.
func exampleBodies(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	err := filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var body []string
		in := false
		for _, line := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(line, "func Example"):
				in, body = true, nil
			case in && line == "}":
				out, in = append(out, body), false
			case in && codeLine(line) != "":
				body = append(body, codeLine(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// subsequence reports whether every line of s appears in body, in order.
func subsequence(s, body []string) bool {
	i := 0
	for _, l := range body {
		if i < len(s) && l == s[i] {
			i++
		}
	}
	return i == len(s) && len(s) > 0
}
