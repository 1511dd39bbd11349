package docs

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A command is one command line of a ```sh, ```bash or ```console block of README.md or docs/*.md.
type command struct {
	file string   // README.md, docs/testing.md, …
	line int      // where the command starts
	text string   // continuation lines joined, trailing comment removed
	want []string // console blocks: the output shown under the command
}

func (c command) String() string { return fmt.Sprintf("%s:%d: %s", c.file, c.line, c.text) }

// pages returns README.md and docs/*.md, relative to the repository root.
func pages(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	ps := []string{"README.md"}
	for _, f := range files {
		ps = append(ps, "docs/"+f)
	}
	return ps
}

// commands extracts the commands of every page.
func commands(t *testing.T) []command {
	t.Helper()
	var all []command
	for _, p := range pages(t) {
		cs, err := extract(p, readRepo(t, p))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, cs...)
	}
	if len(all) == 0 {
		t.Fatal("no commands found in README.md and docs/*.md")
	}
	return all
}

// extract returns the commands of the shell code blocks of one page. In sh and bash blocks every
// line is a command (a line ending in \ continues on the next; # starts a comment); in console
// blocks, lines starting with "$ " are commands and the lines up to the next one are their output.
func extract(file, text string) ([]command, error) {
	var (
		out     []command
		lang    string
		inBlock bool
		pending *command
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			if inBlock {
				if pending != nil {
					return nil, fmt.Errorf("%s:%d: a continued command runs into the end of its block", file, pending.line)
				}
				inBlock = false
				continue
			}
			inBlock, lang = true, strings.TrimPrefix(trimmed, "```")
			continue
		}
		if !inBlock {
			continue
		}
		switch lang {
		case "sh", "bash":
			if pending == nil {
				if trimmed == "" || strings.HasPrefix(trimmed, "#") {
					continue
				}
				pending = &command{file: file, line: n}
			}
			if cont, ok := strings.CutSuffix(trimmed, `\`); ok {
				pending.text += cont
				continue
			}
			pending.text = strings.Join(strings.Fields(stripComment(pending.text+trimmed)), " ")
			out = append(out, *pending)
			pending = nil
		case "console":
			if rest, ok := strings.CutPrefix(line, "$ "); ok {
				out = append(out, command{file: file, line: n, text: stripComment(rest)})
			} else if len(out) > 0 && out[len(out)-1].file == file && trimmed != "" {
				out[len(out)-1].want = append(out[len(out)-1].want, line)
			}
		}
	}
	return out, sc.Err()
}

// stripComment removes a shell comment: a # outside quotes at the start or after a blank.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i])
		}
	}
	return strings.TrimSpace(s)
}

// words splits a command line as the shell would for the simple lines the pages hold: blanks
// separate words, quotes group them and are removed.
func words(s string) []string {
	var (
		out   []string
		cur   strings.Builder
		quote rune
		any   bool
	)
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, any = r, true
		case r == ' ' || r == '\t':
			if any || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
		}
	}
	if any || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

var envAssign = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)

// splitEnv separates leading VAR=value words from the command's words.
func splitEnv(ws []string) (env, rest []string) {
	for len(ws) > 0 && envAssign.MatchString(ws[0]) {
		env = append(env, ws[0])
		ws = ws[1:]
	}
	return env, ws
}

// runnable reports whether TestDocCommandsRun runs c itself.
func runnable(c command) bool {
	_, ws := splitEnv(words(c.text))
	if len(ws) == 0 {
		return false
	}
	switch ws[0] {
	case "snowfall", "snowflake_start_server", "curl":
		return true
	case "go":
		return strings.HasPrefix(strings.Join(ws, " "), "go run ./cmd/snowfall ") || len(ws) > 1 && ws[1] == "doc"
	}
	return false
}

// mapping names where a command that the test cannot run hermetically is run instead: a file that
// .ci/run is or calls (where is its path) or a test (where is "Test…" in pkg), with evidence, the
// strings that file must hold for the mapping to be true.
type mapping struct {
	where    string
	pkg      string   // for a test: its package directory
	evidence []string // for a file: strings it must contain
}

// mapped lists the commands of the pages that are neither run by this test nor covered by the
// general rules of exercised (go test, CI scripts, bench scripts, go install).
var mapped = map[string]mapping{
	// .ci/container.sh builds the Dockerfile's final stage and runs it with the same volume, port
	// and stop timeout (with podman, under a test tag).
	"docker run -d -p 8910:8910 -v snowfall:/var/lib/snowfall --stop-timeout 20 snowfall": {
		where: ".ci/container.sh", evidence: []string{"run --no-healthcheck -d", ":8910", ":/var/lib/snowfall", "--stop-timeout 20"}},
	// TestCompose checks compose.yaml and runs its services' command line.
	"docker compose -p snowfall up -d": {where: "TestCompose", pkg: "deploy"},
	// TestKubernetes checks the manifests of the kustomization and runs the container's command.
	"kubectl apply -k deploy/kubernetes/": {where: "TestKubernetes", pkg: "deploy"},
	// TestKubernetes checks that this command creates the Secret and key the Deployment reads.
	"kubectl create secret generic snowfall-db --from-literal=url='postgres://snowfall:Wm4-Zr8T-b2Kq@postgres:5432/snowfall?sslmode=require'": {
		where: "TestKubernetes", pkg: "deploy"},
	// .ci/release-check.sh unpacks every archive scripts/release.sh made, checks the sums and
	// installs from it with these commands.
	"sha256sum --check --ignore-missing SHA256SUMS": {where: ".ci/release-check.sh", evidence: []string{"sha256sum --check --ignore-missing SHA256SUMS"}},
	"tar -xzf snowfall_v1.2.3_linux_amd64.tar.gz":   {where: ".ci/release-check.sh", evidence: []string{"tar -xzf \"$name.tar.gz\""}},
	"install -m 755 snowfall_v1.2.3_linux_amd64/snowfall /usr/local/bin/snowfall": {
		where: ".ci/release-check.sh", evidence: []string{"install -m 755 \"$name/snowfall\""}},
	"install -m 755 snowfall_v1.2.3_linux_amd64/snowflake_start_server /usr/local/bin/snowflake_start_server": {
		where: ".ci/release-check.sh", evidence: []string{"install -m 755 \"$name/snowflake_start_server\""}},
	// TestLeastPrivilegeEtcd runs these against an etcd of its own with authentication on.
	"etcdctl role add snowfall": {where: "TestLeastPrivilegeEtcd", pkg: "deploy"},
	"etcdctl role grant-permission snowfall readwrite --prefix=true /snowfall/orders/": {where: "TestLeastPrivilegeEtcd", pkg: "deploy"},
	"etcdctl user add snowfall:Wm4-Zr8T-b2Kq":                                          {where: "TestLeastPrivilegeEtcd", pkg: "deploy"},
	"etcdctl user grant-role snowfall snowfall":                                        {where: "TestLeastPrivilegeEtcd", pkg: "deploy"},
	// TestBackupRestore runs these on the test database, a group of its own for orders.
	"pg_dump --clean --if-exists --table=snowfall_orders_properties --table=snowfall_orders_manifest --file=snowfall-orders.sql 'postgres://postgres@db:5432/ids'": {
		where: "TestBackupRestore", pkg: "deploy"},
	"psql --quiet --file=snowfall-orders.sql 'postgres://postgres@db:5432/ids'": {where: "TestBackupRestore", pkg: "deploy"},
}

// ciText is .ci/run and every .ci/ or scripts/ file it names.
func ciText(t *testing.T) string {
	t.Helper()
	run := readRepo(t, ".ci/run")
	all := run
	for _, p := range regexp.MustCompile(`(?:\.ci|scripts)/[a-z-]+\.sh`).FindAllString(run, -1) {
		all += "\n" + readRepo(t, p)
	}
	return all
}

func readRepo(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// exercised returns nil if c is run by this test, by CI or by a test, and otherwise says why not.
func exercised(t *testing.T, c command, ci string) error {
	if runnable(c) {
		return nil
	}
	if m, ok := mapped[c.text]; ok {
		return checkMapping(t, m, ci)
	}
	env, ws := splitEnv(words(c.text))
	switch {
	case len(ws) >= 2 && ws[0] == "go" && ws[1] == "test":
		return checkGoTest(t, env, ws[2:], ci)
	case len(ws) >= 2 && ws[0] == "go" && ws[1] == "install":
		return checkGoInstall(ws[2:])
	case len(ws) >= 2 && ws[0] == "bash" && strings.HasPrefix(ws[1], ".ci/"):
		if _, err := os.Stat(filepath.Join("..", ws[1])); err != nil {
			return err
		}
		if ws[1] == ".ci/run" {
			if !strings.Contains(readRepo(t, ".ci/run"), "\ngo test -race ./...\n") {
				return fmt.Errorf(".ci/run does not run the README's test command go test -race ./...")
			}
			return nil
		}
		if !strings.Contains(readRepo(t, ".ci/run"), ws[1]) {
			return fmt.Errorf(".ci/run does not call %s", ws[1])
		}
		return nil
	case len(ws) >= 1 && (strings.HasPrefix(ws[0], "bench/") || strings.HasPrefix(ws[0], "scripts/")):
		if !strings.Contains(ci, ws[0]) {
			return fmt.Errorf(".ci/run does not run %s", ws[0])
		}
		script := readRepo(t, ws[0])
		for _, e := range env {
			name, _, _ := strings.Cut(e, "=")
			if !strings.Contains(script, name) {
				return fmt.Errorf("%s does not read %s", ws[0], name)
			}
		}
		return nil
	}
	return fmt.Errorf("no test or CI step runs it: run it in TestDocCommandsRun, or map it in mapped (docs/docs_test.go)")
}

func checkMapping(t *testing.T, m mapping, ci string) error {
	if strings.HasPrefix(m.where, "Test") {
		if !testFuncs(t, m.pkg, "Test")[m.where] {
			return fmt.Errorf("mapped to %s in ./%s, which does not exist", m.where, m.pkg)
		}
		if !strings.Contains(ci, "go test -race ./...") {
			return fmt.Errorf(".ci/run does not run go test -race ./..., so %s does not run", m.where)
		}
		return nil
	}
	if !strings.Contains(readRepo(t, ".ci/run"), m.where) {
		return fmt.Errorf("mapped to %s, which .ci/run does not call", m.where)
	}
	text := readRepo(t, m.where)
	for _, e := range m.evidence {
		if !strings.Contains(text, e) {
			return fmt.Errorf("mapped to %s, which does not contain %q", m.where, e)
		}
	}
	return nil
}

// testFuncs returns the names of the functions of dir's _test.go files that start with prefix.
func testFuncs(t *testing.T, dir, prefix string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", dir, "*_test.go"))
	re := regexp.MustCompile(`(?m)^func (` + prefix + `\w*)\(`)
	names := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			names[m[1]] = true
		}
	}
	return names
}

// checkGoTest checks a documented go test command: its packages exist, its -run or -bench pattern
// selects a function there, the environment variables it sets are read there, and .ci/run runs
// those packages with the same tags and kind (tests, or benchmarks) under default settings.
func checkGoTest(t *testing.T, env, args []string, ci string) error {
	valued := map[string]bool{"-run": true, "-bench": true, "-benchtime": true, "-timeout": true, "-tags": true, "-count": true}
	flags := map[string]string{}
	var pkgs []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case valued[a] && i+1 < len(args):
			flags[a] = args[i+1]
			i++
		case strings.HasPrefix(a, "-"):
			flags[a] = ""
		default:
			pkgs = append(pkgs, a)
		}
	}
	if len(pkgs) == 0 {
		pkgs = []string{"."}
	}
	for _, p := range pkgs {
		if p == "./..." {
			continue
		}
		dir := strings.TrimPrefix(p, "./")
		if fi, err := os.Stat(filepath.Join("..", dir)); err != nil || !fi.IsDir() {
			return fmt.Errorf("package %s does not exist", p)
		}
		for flag, prefix := range map[string]string{"-run": "Test", "-bench": "Benchmark"} {
			pat, ok := flags[flag]
			if !ok || pat == "." || pat == "^$" {
				continue
			}
			top, _, _ := strings.Cut(pat, "/")
			re, err := regexp.Compile(top)
			if err != nil {
				return fmt.Errorf("%s %q: %v", flag, pat, err)
			}
			if !slices.ContainsFunc(slices.Collect(maps.Keys(testFuncs(t, dir, prefix))), re.MatchString) {
				return fmt.Errorf("%s %q selects no %s function in %s", flag, pat, prefix, p)
			}
		}
		src := packageText(t, dir)
		for _, e := range env {
			name, _, _ := strings.Cut(e, "=")
			if !strings.Contains(src, `"`+name+`"`) {
				return fmt.Errorf("%s does not read %s", p, name)
			}
		}
		if err := ciRuns(ci, p, flags); err != nil {
			return err
		}
	}
	return nil
}

// ciRuns checks that a line of CI runs package p the way flags ask: with the same -tags, and with
// -bench for benchmarks; plain tests are covered by go test -race ./....
func ciRuns(ci, p string, flags map[string]string) error {
	tags, hasTags := flags["-tags"]
	_, bench := flags["-bench"]
	if !hasTags && !bench {
		if !strings.Contains(ci, "go test -race ./...") {
			return fmt.Errorf("CI does not run go test -race ./...")
		}
		return nil
	}
	for _, line := range strings.Split(ci, "\n") {
		ws := strings.Fields(line)
		if !slices.Contains(ws, "test") || !slices.Contains(ws, p) && !slices.Contains(ws, "./...") {
			continue
		}
		if hasTags && !strings.Contains(line, "-tags "+tags) || bench && !strings.Contains(line, "-bench") {
			continue
		}
		return nil
	}
	what := "-tags " + tags
	if bench {
		what = "-bench"
	}
	return fmt.Errorf("no CI step runs go test %s on %s", what, p)
}

// packageText is the text of every Go file in dir.
func packageText(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
	var b strings.Builder
	for _, f := range files {
		s, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(s)
	}
	return b.String()
}

// checkGoInstall checks that go install's package is a command of this module.
func checkGoInstall(args []string) error {
	const module = "github.com/snowfall-go/snowfall/"
	if len(args) != 1 {
		return fmt.Errorf("want one package@version")
	}
	pkg, _, _ := strings.Cut(args[0], "@")
	dir, ok := strings.CutPrefix(pkg, module)
	if !ok {
		return fmt.Errorf("%s is not in module %s", pkg, module)
	}
	files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil && regexp.MustCompile(`(?m)^package main$`).Match(b) {
			return nil
		}
	}
	return fmt.Errorf("%s is not a command of this module", pkg)
}

// TestEveryCommandIsExercised fails for a command in README.md or docs/*.md that nothing runs.
func TestEveryCommandIsExercised(t *testing.T) {
	ci := ciText(t)
	for _, c := range commands(t) {
		if err := exercised(t, c, ci); err != nil {
			t.Errorf("%v\n\t%v", c, err)
		}
	}
}

// TestMappedCommandsAreDocumented keeps the mapped table short: every entry is a documented command.
func TestMappedCommandsAreDocumented(t *testing.T) {
	have := map[string]bool{}
	for _, c := range commands(t) {
		have[c.text] = true
	}
	for cmd := range mapped {
		if !have[cmd] {
			t.Errorf("mapped command %q is in no page; remove it from mapped", cmd)
		}
	}
}
