package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/idsource"
	"github.com/snowfall-go/snowfall/internal/testkit/etcdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/leakcheck"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// TestSecretsGenerated: no password shows in anything a command prints, logs or serves. It generates
// passwords (internal/testkit/leakcheck: every printable ASCII character, URL and DSN delimiters,
// control characters, non-ASCII, 1 to 64 characters), puts each, escaped or as it is, into a form
// of URL or DSN a backend accepts (or one it must refuse), points it at a store that fails in one
// way or works, and runs a command with it: serve (text or JSON logs; every HTTP endpoint when it
// starts), leases, schema create, the libraries' Open, and probe, get and stats with a server URL
// holding a password; the URL comes from the flag, the environment, or a stray argument. Half the
// server cases probe a server that echoes the Authorization header, with the user "u" or none and a
// ':' put into the password. Then it searches stdout, stderr, the logs and the HTTP answers for the
// password (see leakcheck for what counts as a leak, and for passwords under four characters), and
// for an echoing server's cases, for four characters in a row of the base64 of what net/http sent.
//
// The cases are replayable: case i of seed s is the same on every run.
//
//	SNOWFALL_SECRETS_CASES=20000 go test -run TestSecretsGenerated -timeout 0 ./cmd/snowfall   # a long run
//	SNOWFALL_SECRETS_SEED=7 go test -run TestSecretsGenerated ./cmd/snowfall                   # other cases
//	SNOWFALL_SECRETS_CASE=123 go test -run TestSecretsGenerated -v ./cmd/snowfall              # replay one case
//
// It prints "secrets: cases=N leaks=L" and appends it to $SNOWFALL_FLEET_SUMMARY (.ci/run checks it).
func TestSecretsGenerated(t *testing.T) {
	seed := uint64(leakcheck.EnvNum(t, "SNOWFALL_SECRETS_SEED", 1))
	n := leakcheck.EnvNum(t, "SNOWFALL_SECRETS_CASES", 400)
	first, last := 0, n
	if s := os.Getenv("SNOWFALL_SECRETS_CASE"); s != "" {
		i, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("SNOWFALL_SECRETS_CASE=%q", s)
		}
		first, last = i, i+1
	}
	e := newSecretsEnv(t)
	before := dirEntries(t)
	var leaks, done, confirmedByControl, inconclusive, echoes atomic.Int64
	var mu sync.Mutex
	var reports []string
	next := atomic.Int64{}
	next.Store(int64(first))
	var wg sync.WaitGroup
	for range 8 { // the cases mostly wait on sockets and processes
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= last {
					return
				}
				c := e.generate(seed, i)
				v := e.check(c)
				done.Add(1)
				if c.echo {
					echoes.Add(1)
				}
				confirmedByControl.Add(int64(v.dismissed))
				if v.inconclusive {
					inconclusive.Add(1)
					t.Logf("case %d inconclusive (outputs differ from run to run): %s", i, c)
				}
				if v.leak != "" {
					leaks.Add(1)
					mu.Lock()
					reports = append(reports, fmt.Sprintf("case %d (replay: SNOWFALL_SECRETS_SEED=%d SNOWFALL_SECRETS_CASE=%d): %s\n  password %s %q\n  %s",
						i, seed, i, c, c.pw.Class, c.pw.Text, v.leak))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, name := range dirEntries(t) {
		if !slices.Contains(before, name) {
			t.Errorf("a case created %q in the working directory (a SQLite file named after a piece of a URL?)", name)
		}
	}
	for i, r := range reports {
		if i < 40 {
			t.Error(r)
		}
	}
	summary := fmt.Sprintf("secrets: cases=%d leaks=%d", done.Load(), leaks.Load())
	t.Logf("%s (seed %d; fragments that a sibling password's run printed too, not counted: %d; inconclusive letter cases: %d; cases against an echoing server: %d)",
		summary, seed, confirmedByControl.Load(), inconclusive.Load(), echoes.Load())
	fmt.Println(summary)
	if path := os.Getenv("SNOWFALL_FLEET_SUMMARY"); path != "" && first == 0 {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatalf("SNOWFALL_FLEET_SUMMARY: %v", err)
		}
		fmt.Fprintln(f, summary)
		f.Close()
	}
}

func dirEntries(t *testing.T) []string {
	es, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// secretsEnv is what the cases point at: stores that fail in each way, and ones that work.
type secretsEnv struct {
	t          *testing.T
	dir        string
	closed     string // host:port where nothing listens
	silent     string // host:port that accepts and never answers
	authEtcd   string // an etcd member with authentication on (root, another password)
	idServer   string // host:port of a running snowfall serve
	echo       string // host:port of a server answering 401 with the Authorization header it got
	etcdShared string // the test cluster's endpoints
	exe        string // the built snowfall, for the cases run as a process
}

func newSecretsEnv(t *testing.T) *secretsEnv {
	e := &secretsEnv{t: t, dir: t.TempDir(), silent: silentServer(t), exe: bin.Path(t)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.closed = ln.Addr().String()
	ln.Close()
	e.authEtcd = etcdtest.StartAuth(t, "the-right-one")
	e.etcdShared = strings.TrimSuffix(strings.TrimPrefix(etcdTestURL(), "etcd://"), "/snowfall-cli-test")
	s := startServe(t, nil, "--generator", "1")
	e.idServer = strings.TrimPrefix(s.URL, "http://")
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // the body in the error of a failed probe
		fmt.Fprintf(w, "{\"headers\": {\"Authorization\": %q}}\n", r.Header.Get("Authorization"))
	}))
	t.Cleanup(echo.Close)
	e.echo = strings.TrimPrefix(echo.URL, "http://")
	return e
}

// secretCase is one generated case.
type secretCase struct {
	pw      leakcheck.Password
	escaped bool
	form    string
	target  string
	command string
	via     string // flag, env, stray or badflag
	process bool   // run as a process of its own: its stderr holds what libraries write to os.Stderr
	build   func(pw string) string
	echo    bool // the server echoes the Authorization header: what net/http sent must not show
	args    func(u string) ([]string, map[string]string)
}

func (c secretCase) String() string {
	esc := "as written"
	if c.escaped {
		esc = "escaped"
	}
	how := "in-process"
	if c.process {
		how = "as a process"
	}
	return fmt.Sprintf("%s via %s (%s), form %s (%s), target %s", c.command, c.via, how, c.form, esc, c.target)
}

// A target is a store or server the URL names.
type target struct {
	name    string
	backend string // postgres, mysql, etcd, sqlite, server
	host    string // host:port
	user    string
	db      string // database, etcd prefix or SQLite path
	works   bool   // a command can open it with any password
}

func (e *secretsEnv) targets() []target {
	return []target{
		{"closed port", "postgres", e.closed, "u", "db", false},
		{"silent port", "postgres", e.silent, "u", "db", false},
		{"unknown host", "postgres", "nonexistent-snowfall.invalid:5432", "u", "db", false},
		{"postgres trusted", "postgres", "127.0.0.1:5432", "postgres", "test", true},
		{"postgres unknown role", "postgres", "127.0.0.1:5432", "snowfall_no_such_role", "test", false},
		{"postgres missing database", "postgres", "127.0.0.1:5432", "postgres", "snowfall_no_such_db", false},
		{"closed port", "mysql", e.closed, "u", "db", false},
		{"silent port", "mysql", e.silent, "u", "db", false},
		{"unknown host", "mysql", "nonexistent-snowfall.invalid:3306", "u", "db", false},
		{"mariadb wrong password", "mysql", "127.0.0.1:3306", "root", "test", false},
		{"mariadb missing database", "mysql", "127.0.0.1:3306", "root", "snowfall_no_such_db", false},
		{"closed port", "etcd", e.closed, "root", "leakcheck", false},
		{"silent port", "etcd", e.silent, "root", "leakcheck", false},
		{"unknown host", "etcd", "nonexistent-snowfall.invalid:2379", "root", "leakcheck", false},
		{"etcd without auth", "etcd", e.etcdShared, "root", "leakcheck", true},
		{"etcd wrong password", "etcd", e.authEtcd, "root", "leakcheck", false},
		{"file", "sqlite", "", "", filepath.Join(e.dir, "leak.db"), true},
		{"missing directory", "sqlite", "", "", filepath.Join(e.dir, "no", "such", "dir", "leak.db"), false},
		{"id server", "server", e.idServer, "u", "", true},
		{"closed port", "server", e.closed, "u", "", false},
		{"silent port", "server", e.silent, "u", "", false},
		{"unknown host", "server", "nonexistent-snowfall.invalid:8910", "u", "", false},
	}
}

// keyword quotes v as a PostgreSQL keyword/value string value.
func keyword(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// forms returns the ways of writing a URL for target tg holding a password, each a function of the
// password, escaped as the form requires or as it is.
func forms(tg target, esc bool, r *rand.Rand) map[string]func(pw string) string {
	user := func(pw string) string {
		if esc {
			return url.UserPassword(tg.user, pw).String()
		}
		return tg.user + ":" + pw
	}
	q := func(pw string) string {
		if esc {
			return url.QueryEscape(pw)
		}
		return pw
	}
	host, port, _ := net.SplitHostPort(tg.host)
	switch tg.backend {
	case "postgres":
		scheme := []string{"postgres", "postgresql", "POSTGRES"}[r.IntN(3)]
		kw := func(pw string) string {
			if esc {
				return keyword(pw)
			}
			return pw
		}
		eq := []string{"=", " = ", "= "}[r.IntN(3)]
		title := r.IntN(4) == 0 // Host=… Password=…: keywords pgx does not know
		k := func(s string) string {
			if title {
				return strings.ToUpper(s[:1]) + s[1:]
			}
			return s
		}
		return map[string]func(string) string{
			"postgres userinfo": func(pw string) string {
				return scheme + "://" + user(pw) + "@" + tg.host + "/" + tg.db + "?sslmode=disable&connect_timeout=2"
			},
			"postgres query password": func(pw string) string {
				return scheme + "://" + tg.user + "@" + tg.host + "/" + tg.db + "?sslmode=disable&password=" + q(pw)
			},
			"postgres query sslpassword": func(pw string) string {
				return scheme + "://" + tg.user + "@" + tg.host + "/" + tg.db + "?sslpassword=" + q(pw) + "&sslmode=disable"
			},
			"postgres keyword/value": func(pw string) string {
				parts := []string{k("host") + eq + host, k("port") + eq + port, k("user") + eq + tg.user,
					k("password") + eq + kw(pw), k("dbname") + eq + tg.db, k("sslmode") + eq + "disable"}
				r2 := rand.New(rand.NewPCG(uint64(len(pw)), 9))
				r2.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
				return strings.Join(parts, " ")
			},
		}
	case "mysql":
		scheme := []string{"mysql", "mariadb"}[r.IntN(2)]
		return map[string]func(string) string{
			"mysql userinfo": func(pw string) string {
				return scheme + "://" + user(pw) + "@" + tg.host + "/" + tg.db
			},
			"mysql query password": func(pw string) string {
				return scheme + "://" + tg.user + "@" + tg.host + "/" + tg.db + "?password=" + q(pw)
			},
			"go-sql-driver DSN": func(pw string) string { // not a form --db takes: refused
				return tg.user + ":" + pw + "@tcp(" + tg.host + ")/" + tg.db
			},
		}
	case "etcd":
		return map[string]func(string) string{
			"etcd userinfo": func(pw string) string {
				return "etcd://" + user(pw) + "@" + tg.host + "/" + tg.db + "?dial-timeout=2s"
			},
			"etcd query password": func(pw string) string {
				return "etcd://" + tg.host + "/" + tg.db + "?password=" + q(pw)
			},
		}
	case "sqlite":
		return map[string]func(string) string{
			"sqlite pragma key": func(pw string) string {
				v := "key('" + strings.ReplaceAll(pw, "'", "''") + "')"
				if !esc {
					v = "key('" + pw + "')"
				}
				return "sqlite://" + tg.db + "?_pragma=" + q(v)
			},
			"sqlite query password": func(pw string) string { return "sqlite://" + tg.db + "?password=" + q(pw) },
			"sqlite userinfo": func(pw string) string { // no such thing: refused
				return "sqlite://" + user(pw) + "@" + tg.db
			},
		}
	case "server":
		scheme := []string{"http://", "https://", ""}[r.IntN(3)]
		return map[string]func(string) string{
			"server userinfo": func(pw string) string { return scheme + user(pw) + "@" + tg.host },
			"server userinfo path": func(pw string) string {
				return scheme + user(pw) + "@" + tg.host + "/"
			},
		}
	}
	return nil
}

// badForms are URLs no backend takes, holding a password.
func badForms(e *secretsEnv, esc bool) map[string]func(pw string) string {
	user := func(pw string) string {
		if esc {
			return url.UserPassword("u", pw).String()
		}
		return "u:" + pw
	}
	return map[string]func(string) string{
		"unknown scheme":     func(pw string) string { return "postgress://" + user(pw) + "@" + e.closed + "/db" },
		"no scheme":          func(pw string) string { return user(pw) + "@" + e.closed + "/db" },
		"scheme-relative":    func(pw string) string { return "//" + user(pw) + "@" + e.closed + "/db" },
		"password as scheme": func(pw string) string { return pw + "://" + e.closed + "/db" },
		"password alone":     func(pw string) string { return pw },
	}
}

// generate returns case i of seed.
func (e *secretsEnv) generate(seed uint64, i int) secretCase {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	c := secretCase{pw: leakcheck.Generate(r), escaped: r.IntN(2) == 0, process: r.IntN(4) == 0}
	ts := e.targets()
	var fs map[string]func(string) string
	var tg target
	if r.IntN(12) == 0 {
		tg = target{name: "none", backend: "bad"}
		fs = badForms(e, c.escaped)
	} else {
		tg = ts[r.IntN(len(ts))]
		if tg.backend == "server" {
			// Half the server cases point at a server that echoes the Authorization header (as
			// httpbin's /headers does), with the user "u" or none (net/http then sends
			// ":password"), and a ':' put into the password (net/url's user ends at the first ':').
			// A stream of its own, so that every other draw of the case stays as it was.
			re := rand.New(rand.NewPCG(seed, uint64(i)|1<<62))
			if re.IntN(2) == 0 {
				c.echo = true
				tg = target{"echo server", "server", e.echo, []string{"u", ""}[re.IntN(2)], "", false}
				if rs := []rune(c.pw.Text); len(rs) >= 4 && c.pw.Class != leakcheck.Letters && c.pw.Class != leakcheck.Marker {
					k := re.IntN(len(rs) - 2)
					c.pw.Text = string(rs[:k]) + ":" + string(rs[k+1:])
				}
				if tg.user == "" {
					tg.name = "echo server, empty user"
				}
			}
		}
		fs = forms(tg, c.escaped, r)
	}
	names := make([]string, 0, len(fs))
	for n := range fs {
		names = append(names, n)
	}
	slices.Sort(names)
	c.form = names[r.IntN(len(names))]
	c.target = tg.backend + " " + tg.name
	c.build = fs[c.form]
	if c.pw.Class == leakcheck.Letters && tg.works {
		// A working store's output holds times and ids: compare outputs for Letters passwords only
		// where the output is otherwise the same from run to run.
		c.pw = leakcheck.Password{Text: string(leakcheck.Markers[r.IntN(len(leakcheck.Markers))]), Class: leakcheck.Marker}
	}
	if tg.backend == "server" {
		c.command = []string{"probe", "get", "stats"}[r.IntN(3)]
		if c.echo {
			c.command = "probe" // get and stats send no user or password: they refuse the URL
		}
		c.via = []string{"flag", "env"}[r.IntN(2)]
		cmd, via := c.command, c.via
		path := []string{"/healthz", "/livez", "/readyz"}[r.IntN(3)]
		c.args = func(u string) ([]string, map[string]string) {
			args := []string{cmd, "--timeout", "300ms"}
			var env map[string]string
			if via == "flag" {
				args = append(args, "--server", u)
			} else {
				env = map[string]string{"SNOWFALL_SERVER": u}
			}
			if cmd == "probe" {
				args = append(args, path)
			}
			return args, env
		}
		return c
	}
	c.command = []string{"serve", "serve json", "leases", "schema create", "library open"}[r.IntN(5)]
	c.via = []string{"flag", "flag", "env", "stray", "badflag"}[r.IntN(5)]
	if c.command == "library open" {
		c.via = "argument"
	}
	if c.command == "serve" || c.command == "serve json" {
		c.via = []string{"flag", "env", "badflag"}[r.IntN(3)]
	}
	cmd, via := c.command, c.via
	timeout := "2s" // past a refusal's slowest answer (etcd checks a password with bcrypt)
	if strings.Contains(tg.name, "silent") {
		timeout = "300ms"
	}
	c.args = func(u string) ([]string, map[string]string) {
		var args []string
		switch cmd {
		case "serve", "serve json":
			args = []string{"serve", "--host", "127.0.0.1", "--port", "0", "--db-timeout", timeout, "--group", "leakcheck"}
			if cmd == "serve json" {
				args = append(args, "--log-format", "json")
			}
		case "leases":
			args = []string{"leases", "--db-timeout", timeout, "--group", "leakcheck"}
		case "schema create":
			args = []string{"schema", "create", "--db-timeout", timeout, "--group", "leakcheck"}
		}
		env := map[string]string{}
		switch via {
		case "flag":
			args = append(args, "--db", u)
		case "env":
			env["SNOWFALL_DB"] = u
		case "stray":
			args = append(args, "--db", "sqlite:///nonexistent/dir/x.db", u)
		case "badflag":
			args = append(args, "--db", u, "--db-timeout", "1ns")
		}
		return args, env
	}
	return c
}

// verdict is what checking a case found.
type verdict struct {
	leak         string // empty when none
	dismissed    int    // fragments a sibling password's run printed too
	inconclusive bool   // a Letters case whose output differs between two runs with the same password
}

// check runs c and looks for its password in everything the run printed or served.
func (e *secretsEnv) check(c secretCase) verdict {
	var v verdict
	out := e.run(c, c.pw.Text)
	if c.pw.Class == leakcheck.Letters {
		r := rand.New(rand.NewPCG(uint64(len(c.pw.Text)), uint64(c.pw.Text[0])))
		sib := c.pw.Sibling(r)
		if sib.Text == c.pw.Text {
			return v // no letters to change: nothing to compare
		}
		other := e.run(c, sib.Text)
		if sameLines(out, other) {
			return v
		}
		// The outputs differ: a leak if each run repeats its own output (else a race with a
		// deadline, which a run may win or lose, made the difference).
		again, otherAgain := e.run(c, c.pw.Text), e.run(c, sib.Text)
		if !sameLines(out, again) || !sameLines(other, otherAgain) {
			v.inconclusive = true
			return v
		}
		v.leak = fmt.Sprintf("the output depends on the password (sibling %q):\n--- with the password\n%s\n--- with the sibling\n%s", sib.Text, out, other)
		return v
	}
	hits := leakcheck.NewFinder(c.pw).Find(out)
	sent := sentHits(c, c.pw.Text, out)
	hits = append(hits, sent...)
	if len(hits) == 0 {
		return v
	}
	var control string
	if c.pw.Class != leakcheck.Marker || len(sent) > 0 {
		r := rand.New(rand.NewPCG(uint64(len(c.pw.Text)), 77))
		control = e.run(c, c.pw.Sibling(r).Text)
	}
	var found []string
	for i, h := range hits {
		if (c.pw.Class != leakcheck.Marker || i >= len(hits)-len(sent)) && strings.Contains(control, h.Encoded) {
			v.dismissed++
			continue
		}
		found = append(found, fmt.Sprintf("%q as %q in …%s…", h.Fragment, h.Encoded, leakcheck.Excerpt(out, h.At)))
	}
	if len(found) > 0 {
		v.leak = fmt.Sprintf("%d fragments shown, e.g. %s", len(found), strings.Join(found[:min(3, len(found))], "; "))
	}
	return v
}

// sentHits returns the runs of four characters of the base64 (either alphabet, padded or not) of
// what net/http sends as HTTP Basic authorization for case c's URL with password pw (net/url's user
// and password, as the command parses the URL) that out holds: an echo server's cases only.
func sentHits(c secretCase, pw, out string) []leakcheck.Hit {
	if !c.echo {
		return nil
	}
	_, u, err := cli.ParseServerURL(c.build(pw))
	if err != nil || u.User == nil {
		return nil
	}
	p, _ := u.User.Password()
	plain := u.User.Username() + ":" + p
	var hits []leakcheck.Hit
	seen := map[string]bool{}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		b := enc.EncodeToString([]byte(plain))
		for k := 0; k+4 <= len(b); k++ {
			if w := b[k : k+4]; !seen[w] {
				seen[w] = true
				if at := strings.Index(out, w); at >= 0 {
					hits = append(hits, leakcheck.Hit{Fragment: "base64 of " + strconv.Quote(plain), Encoded: w, At: at})
				}
			}
		}
	}
	return hits
}

// run runs case c with password pw and returns everything it printed and served.
func (e *secretsEnv) run(c secretCase, pw string) string {
	u := c.build(pw)
	if c.command == "library open" {
		return libraryOpen(u)
	}
	args, env := c.args(u)
	if c.process {
		return runProcess(e.exe, args, env)
	}
	return runCaptured(args, env)
}

// runProcess runs the built command with env added to this process's environment (without its
// SNOWFALL_ variables); a server it starts is asked every endpoint, then stopped with SIGTERM.
func runProcess(exe string, args []string, env map[string]string) string {
	cmd := exec.Command(exe, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SNOWFALL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var errb syncBuffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err.Error()
	}
	if err := cmd.Start(); err != nil {
		return err.Error()
	}
	var out strings.Builder
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		b := make([]byte, 4096)
		for {
			n, err := stdout.Read(b)
			if a, ok := idsource.ParseListen(string(b[:n])); ok {
				select {
				case addr <- a:
				default:
				}
			}
			out.Write(b[:n])
			if err != nil {
				return
			}
		}
	}()
	done := make(chan struct{})
	go func() { <-copied; cmd.Wait(); close(done) }()
	var served string
	select {
	case <-done:
	case a := <-addr:
		served = askEverything("http://" + a)
		cmd.Process.Signal(syscall.SIGTERM)
		<-done
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		served = "(no answer in 60 s)"
	}
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s\n--- served\n%s", cmd.ProcessState.ExitCode(), out.String(), errb.String(), served)
}

// libraryOpen opens u with the library that takes it and returns the error in every rendering.
func libraryOpen(u string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var err error
	if strings.HasPrefix(strings.ToLower(u), "etcd:") {
		var a *etcdassign.Assigner
		if a, err = etcdassign.Open(ctx, u, etcdassign.Options{Group: "leakcheck"}); err == nil {
			a.Close()
		}
		if cerr := etcdassign.CheckURL(u, "leakcheck"); cerr != nil {
			err = fmt.Errorf("%w; check: %w", err, cerr)
		}
	} else {
		var a *sqlassign.Assigner
		if a, err = sqlassign.Open(ctx, u, sqlassign.Options{Group: "leakcheck"}); err == nil {
			a.Close()
		}
		if cerr := sqlassign.CheckURL(u, "leakcheck"); cerr != nil {
			err = fmt.Errorf("%w; check: %w", err, cerr)
		}
	}
	// What messages would show of a URL that parsed, whatever became of the open.
	var shown string
	if strings.HasPrefix(strings.ToLower(u), "etcd:") {
		shown, _ = etcdassign.Redacted(u)
	} else {
		shown, _ = sqlassign.Redacted(u)
	}
	if err == nil {
		return "opened " + shown
	}
	return fmt.Sprintf("%s\n%v\n%+v\n%#v\n%s", shown, err, err, err, err.Error())
}

// captured is a stdout that also hands the address of the "listening on" line to a channel.
type captured struct {
	cli.IO
	out, errb syncBuffer
	addr      chan string
	once      sync.Once
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type addrTee struct{ c *captured }

func (w addrTee) Write(p []byte) (int, error) {
	if a, ok := idsource.ParseListen(string(p)); ok {
		w.c.once.Do(func() { w.c.addr <- a })
	}
	return w.c.out.Write(p)
}

// runCaptured runs the command in-process; a server it starts is asked every endpoint, then stopped.
func runCaptured(args []string, env map[string]string) string {
	c := &captured{addr: make(chan string, 1)}
	sio := cli.IO{In: strings.NewReader(""), Out: addrTee{c}, Err: &c.errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- report(run(ctx, args, sio), sio) }()
	var served strings.Builder
	var code int
	select {
	case code = <-done:
	case a := <-c.addr:
		served.WriteString(askEverything("http://" + a))
		cancel()
		code = <-done
	case <-time.After(60 * time.Second):
		cancel()
		code = <-done
		served.WriteString("(no answer in 60 s)")
	}
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s\n--- served\n%s", code, c.out.String(), c.errb.String(), served.String())
}

// askEverything fetches every endpoint of a server, and returns the answers with their headers.
func askEverything(base string) string {
	var b strings.Builder
	client := &http.Client{Timeout: 5 * time.Second}
	// Wait (up to 5 s) for the end of the server's first attempt at its lease store: answers
	// during it say so, after it they give its outcome, and which of the two a run got was a race
	// with the store's answer (a letters case once differed from its sibling's by that alone).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := client.Get(base + "/stats")
		if err != nil {
			break
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "the first attempt is under way") {
			break
		}
	}
	for _, p := range []string{"/", "/ids?n=3", "/stats", "/metrics", "/healthz", "/livez", "/readyz", "/decode/123456789", "/no-such-path", "/ids?n=bad"} {
		resp, err := client.Get(base + p)
		if err != nil {
			fmt.Fprintf(&b, "GET %s: %v\n", p, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&b, "GET %s: %s %v\n%s\n", p, resp.Status, resp.Header, body)
	}
	return b.String()
}

// sameLines reports whether two outputs hold the same lines, normalised (leakcheck.Normalize), in
// any order: the lines of a server's goroutines (the acquirer's, the listener's) come in the
// order they happen to run, which says nothing of the password.
func sameLines(a, b string) bool {
	la, lb := strings.Split(leakcheck.Normalize(a), "\n"), strings.Split(leakcheck.Normalize(b), "\n")
	slices.Sort(la)
	slices.Sort(lb)
	return slices.Equal(la, lb)
}
