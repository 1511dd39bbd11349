package deploy

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/internal/server"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres" // the deploy examples lease from PostgreSQL
)

// probePaths are the probe paths the server documents: /livez (the process serves HTTP, never
// depends on the database), /readyz (it can issue an ID now) and /healthz (the readiness alias).
// Recipes may use only these.
var probePaths = map[string]bool{"/livez": true, "/readyz": true, "/healthz": true}

// defaultShutdownGrace is how long the server waits for requests in flight on SIGTERM, before it
// releases its lease; every recipe's stop timeout must exceed it.
const defaultShutdownGrace = server.DefaultShutdownTimeout

func TestMain(m *testing.M) {
	code := m.Run()
	for _, b := range binaries {
		b.Remove()
	}
	os.Exit(code)
}

// binaries are the commands the recipes run, each built once.
var binaries = map[string]*cmdtest.Binary{
	"snowfall":               cmdtest.Command("snowfall"),
	"snowflake_start_server": cmdtest.Command("snowflake_start_server"),
}

// binary returns the path of command cmd (snowfall or snowflake_start_server), built once.
func binary(t testing.TB, cmd string) string {
	t.Helper()
	return binaries[cmd].Path(t)
}

// flagInfo is one flag as the command's -h prints it.
type flagInfo struct {
	typ string // "" for a boolean flag
	def string // the default -h shows, "" when none
}

var flagLine = regexp.MustCompile(`^  -(\S+)(?: (\S+))?$`)
var defaultRe = regexp.MustCompile(`\(default (.*)\)$`)

// flagsOf runs the command with args and -h, and returns its flags.
func flagsOf(t testing.TB, cmd string, args ...string) map[string]flagInfo {
	t.Helper()
	c := exec.Command(binary(t, cmd), append(args, "-h")...)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s -h: %v\n%s", cmd, strings.Join(args, " "), err, out)
	}
	flags := map[string]flagInfo{}
	var last string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
			last = m[1]
			flags[last] = flagInfo{typ: m[2]}
			continue
		}
		if m := defaultRe.FindStringSubmatch(strings.TrimSpace(sc.Text())); m != nil && last != "" {
			fi := flags[last]
			fi.def = strings.Trim(m[1], `"`)
			flags[last] = fi
		}
	}
	if len(flags) == 0 {
		t.Fatalf("%s %s -h printed no flags:\n%s", cmd, strings.Join(args, " "), out)
	}
	return flags
}

// checkArgs checks that every option in args (after the subcommand, if sub is set) is a flag of
// flags, and that every flag that takes a value has one. It returns the flags given, by name.
func checkArgs(t testing.TB, where string, flags map[string]flagInfo, args []string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: argument %q is not an option (in %q)", where, a, args)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		fi, ok := flags[name]
		if !ok {
			t.Errorf("%s: flag --%s does not exist (flags: %s)", where, name, names(flags))
			continue
		}
		if fi.typ != "" && !hasValue {
			if i+1 == len(args) {
				t.Errorf("%s: flag --%s has no value", where, name)
				continue
			}
			i++
			value = args[i]
		}
		got[name] = value
	}
	return got
}

// checkEnv checks that an environment variable the recipe sets stands for a flag of flags
// (SNOWFALL_<FLAG>), or is one the commands read (XDG_STATE_HOME, HOME, PATH).
func checkEnv(t testing.TB, where string, flags map[string]flagInfo, name string) {
	t.Helper()
	switch name {
	case "XDG_STATE_HOME", "HOME", "PATH":
		return
	}
	f, ok := strings.CutPrefix(name, "SNOWFALL_")
	if !ok {
		t.Errorf("%s: environment variable %s is not one snowfall reads", where, name)
		return
	}
	flag := strings.ToLower(strings.ReplaceAll(f, "_", "-"))
	if _, ok := flags[flag]; !ok {
		t.Errorf("%s: environment variable %s stands for --%s, which does not exist (flags: %s)", where, name, flag, names(flags))
	}
}

func names(flags map[string]flagInfo) string {
	var n []string
	for k := range flags {
		n = append(n, k)
	}
	slices.Sort(n)
	return strings.Join(n, " ")
}

// postgresURL is the test database (see README).
func postgresURL() string { return testdb.Postgres() }

// group returns a group name of the test's own, whose tables are dropped when the test ends.
func group(t testing.TB) string {
	t.Helper()
	var b [5]byte
	rand.Read(b[:])
	g := "t" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		a, err := sqlassign.Open(ctx, postgresURL(), sqlassign.Options{Group: g})
		if err != nil {
			t.Errorf("drop group %s: %v", g, err)
			return
		}
		defer a.Close()
		if err := a.Drop(ctx); err != nil {
			t.Errorf("drop group %s: %v", g, err)
		}
	})
	return g
}

// startCommand runs a built command with args and env (the whole environment) and returns its
// base URL, read from its listen line, once /readyz answers 200 (a leased server listens before it
// holds its lease). It is stopped with SIGTERM when the test ends, and must exit 0; its stderr is
// returned for the test to read once it ended.
func startCommand(t *testing.T, cmd string, env []string, args ...string) (url string, stop func() string) {
	t.Helper()
	c := exec.Command(binary(t, cmd), args...)
	c.Env = env
	var stderr strings.Builder
	var mu sync.Mutex
	c.Stderr = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return stderr.Write(p) })
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	var once sync.Once
	var log string
	stop = func() string {
		once.Do(func() {
			c.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s exit: %v", cmd, err)
				}
			case <-time.After(2*defaultShutdownGrace + 5*time.Second):
				c.Process.Kill()
				<-done
				t.Errorf("%s did not stop", cmd)
			}
			mu.Lock()
			log = stderr.String()
			mu.Unlock()
		})
		return log
	}
	t.Cleanup(func() { stop() })
	select {
	case line := <-lines:
		addr, ok := idsource.ParseListen(line)
		if !ok {
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s %q: first line %q, want the listen address; stderr %s", cmd, args, line, stderr.String())
		}
		cmdtest.WaitReady(t, "http://"+addr)
		return "http://" + addr, stop
	case <-time.After(30 * time.Second):
		t.Fatalf("%s %q: no listen address after 30s", cmd, args)
	}
	return "", nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// baseEnv is the environment the recipes' commands run with in tests: PATH and nothing else.
func baseEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH")}, extra...)
}

// httpGetJSON fetches url and returns the body of a 200 answer.
func httpGetJSON(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return b, nil
}
