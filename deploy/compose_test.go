package deploy

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	yaml "go.yaml.in/yaml/v3"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// loadCompose loads compose.yaml with the Compose specification's own loader (compose-go, what
// docker compose v2 uses): schema validation, interpolation, the x-snowfall anchor merged, paths
// resolved. The environment is empty, so nothing of the test's leaks in.
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{"../compose.yaml"}, cli.WithWorkingDirectory(".."), cli.WithName("snowfall"), cli.WithEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := opts.LoadProject(ctx)
	if err != nil {
		t.Fatalf("compose-go: compose.yaml: %v", err)
	}
	return p
}

// TestCompose checks compose.yaml, as compose-go loads it: three Snowfall services built from the
// Dockerfile, leasing from the PostgreSQL service with real flags, environment variables and
// ports, a stop grace longer than the server's, no health check that needs a shell, and a
// Prometheus that mounts the monitoring directory and scrapes every Snowfall service on the port
// it listens on. The file has only top-level keys docker-compose 1.29 accepts. Then it runs the
// services' command line against the test database.
func TestCompose(t *testing.T) {
	p := loadCompose(t)
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := yaml.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	for k := range top {
		// Compose v1 (docker-compose 1.29) rejects name: and anything else outside these.
		if !slices.Contains([]string{"services", "volumes", "networks", "configs", "secrets"}, k) && !strings.HasPrefix(k, "x-") {
			t.Errorf("compose.yaml: top-level key %q, which docker-compose 1.29 rejects", k)
		}
	}
	serve := flagsOf(t, "snowfall", "serve")
	port := serve["port"].def
	if port == "" {
		t.Fatal("snowfall serve -h shows no default port")
	}
	pg, err := p.GetService("postgres")
	if err != nil {
		t.Fatal(err)
	}
	var snowfalls []string
	for _, s := range p.Services {
		where := "compose.yaml " + s.Name
		if hc := s.HealthCheck; hc != nil && len(hc.Test) > 0 && hc.Test[0] != "CMD" && hc.Test[0] != "NONE" {
			t.Errorf("%s: healthcheck %q, want the exec form [CMD, …]", where, hc.Test)
		}
		if !strings.HasPrefix(s.Name, "snowfall") {
			continue
		}
		snowfalls = append(snowfalls, s.Name)
		if s.Build == nil || s.Build.Context != filepath.Dir(must(filepath.Abs("../Dockerfile"))) {
			t.Errorf("%s: build %+v, want the repository's Dockerfile", where, s.Build)
		}
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			t.Fatalf("%s: command %q, want snowfall serve", where, s.Command)
		}
		checkArgs(t, where, serve, s.Command[1:])
		for k := range s.Environment {
			checkEnv(t, where, serve, k)
		}
		db, err := url.Parse(value(s.Environment["SNOWFALL_DB"]))
		if err != nil || db.Scheme != "postgres" || db.Hostname() != "postgres" {
			t.Errorf("%s: SNOWFALL_DB %q, want a postgres URL to the postgres service", where, value(s.Environment["SNOWFALL_DB"]))
		} else if pw, _ := db.User.Password(); pw != value(pg.Environment["POSTGRES_PASSWORD"]) || strings.TrimPrefix(db.Path, "/") != value(pg.Environment["POSTGRES_DB"]) {
			t.Errorf("%s: SNOWFALL_DB %q does not match the postgres service's password and database", where, db.Redacted())
		}
		if dep, ok := s.DependsOn["postgres"]; !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on %+v, want postgres service_healthy", where, s.DependsOn)
		}
		if len(s.Ports) != 1 || strconv.Itoa(int(s.Ports[0].Target)) != port || s.Ports[0].HostIP != "127.0.0.1" {
			t.Errorf("%s: ports %+v, want one mapping from loopback to the server's port %s", where, s.Ports, port)
		}
		if s.StopSignal != "SIGTERM" {
			t.Errorf("%s: stop_signal %q, want SIGTERM", where, s.StopSignal)
		}
		if s.StopGracePeriod == nil {
			t.Errorf("%s: no stop_grace_period", where)
		} else {
			checkGrace(t, where, time.Duration(*s.StopGracePeriod).String())
		}
		// podman-compose 1.0.3 runs any healthcheck test of the file through /bin/sh -c, which the
		// FROM scratch image lacks: the service must inherit the image's exec-form HEALTHCHECK.
		if s.HealthCheck != nil && len(s.HealthCheck.Test) > 0 {
			t.Errorf("%s: healthcheck %q in compose.yaml; leave it to the image's exec-form HEALTHCHECK (the image has no shell)", where, s.HealthCheck.Test)
		}
	}
	slices.Sort(snowfalls)
	if len(snowfalls) != 3 {
		t.Errorf("snowfall services %q, want three", snowfalls)
	}
	prom, err := p.GetService("prometheus")
	if err != nil {
		t.Fatal(err)
	}
	monitoring := must(filepath.Abs("monitoring"))
	if len(prom.Volumes) != 1 || prom.Volumes[0].Source != monitoring || prom.Volumes[0].Target != "/etc/prometheus" || !prom.Volumes[0].ReadOnly {
		t.Errorf("prometheus volumes %+v, want %s mounted read-only at /etc/prometheus", prom.Volumes, monitoring)
	}
	if !slices.Contains(prom.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Errorf("prometheus command %q does not load /etc/prometheus/prometheus.yml", prom.Command)
	}
	targets := scrapeTargets(t, "monitoring/prometheus.yml")
	for _, s := range snowfalls {
		if !targets[s+":"+port] {
			t.Errorf("prometheus.yml does not scrape %s:%s (targets %v)", s, port, targets)
		}
	}

	// The services' command line and environment, against the test database.
	s, _ := p.GetService(snowfalls[0])
	args := append([]string(nil), s.Command...)
	for i := range args {
		if i > 0 && args[i-1] == "--group" {
			args[i] = group(t)
		}
	}
	env := baseEnv("SNOWFALL_DB="+postgresURL(), "SNOWFALL_HOST=127.0.0.1", "SNOWFALL_PORT=0")
	for k, v := range s.Environment {
		if k != "SNOWFALL_DB" {
			env = append(env, k+"="+value(v))
		}
	}
	u, stop := startCommand(t, "snowfall", env, args...)
	if code, body := cmdtest.Get(t, u+"/"); code != 200 {
		t.Errorf("GET /: %d %q", code, body)
	}
	if code, body := cmdtest.Get(t, u+"/stats"); code != 200 || !strings.Contains(body, `"state":"held"`) {
		t.Errorf("GET /stats: %d %q, want a held lease", code, body)
	}
	if log := stop(); !strings.Contains(log, `"msg":"lease released"`) {
		t.Errorf("no JSON 'lease released' record after SIGTERM:\n%s", log)
	}
}

// TestComposeV1AndPodman checks compose.yaml with the two other implementations operators run:
// docker-compose 1.29 (Compose v1, Debian's docker-compose) validates it (config -q, no engine
// needed), and podman-compose 1.0.3 (Debian's) turns it into podman run commands (--dry-run): the
// Snowfall containers get SIGTERM and no health check command of the file's (which it would wrap
// in /bin/sh -c), so podman uses the image's.
func TestComposeV1AndPodman(t *testing.T) {
	dc := lookTool(t, "docker-compose")
	out, err := exec.Command(dc, "-p", "snowfall", "-f", "../compose.yaml", "config", "-q").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("docker-compose config -q: %v\n%s", err, out)
	}
	pc := lookTool(t, "podman-compose")
	// Even with --dry-run, podman-compose 1.0.3 creates the project's network and named volume:
	// a project name of the test's own, removed at the end.
	project := "snowfall-dryrun-" + newNames().group
	t.Cleanup(func() {
		exec.Command("podman", "network", "rm", "-f", project+"_default").Run()
		exec.Command("podman", "volume", "rm", "-f", project+"_postgres").Run()
	})
	cmd := exec.Command(pc, "--dry-run", "-p", project, "-f", "compose.yaml", "up", "-d")
	cmd.Dir = ".."
	out, err = cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("podman-compose --dry-run up: %v\n%s", err, out)
	}
	runs := regexp.MustCompile(`(?m)^podman run --name=`+regexp.QuoteMeta(project)+`_(\S+)_1 .*$`).FindAllStringSubmatch(string(out), -1)
	seen := map[string]bool{}
	for _, r := range runs {
		name, line := r[1], r[0]
		seen[name] = true
		if !strings.HasPrefix(name, "snowfall-") {
			continue
		}
		if strings.Contains(line, "--healthcheck-command") {
			t.Errorf("podman-compose runs %s with a health check command of its own: %s", name, line)
		}
		if !strings.Contains(line, "--stop-signal SIGTERM") {
			t.Errorf("podman-compose runs %s without --stop-signal SIGTERM: %s", name, line)
		}
	}
	for _, want := range []string{"postgres", "snowfall-1", "snowfall-2", "snowfall-3", "prometheus"} {
		if !seen[want] {
			t.Errorf("podman-compose --dry-run up runs no %s container:\n%s", want, out)
		}
	}
}

func value(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// checkGrace checks a stop grace (a Go duration or a number of seconds) against the server's.
func checkGrace(t testing.TB, where, grace string) {
	t.Helper()
	d, err := parseSeconds(grace)
	if err != nil || d <= defaultShutdownGrace.Seconds() {
		t.Errorf("%s: stop grace %q (%v), want more than the server's shutdown grace %v", where, grace, err, defaultShutdownGrace)
	}
}

func parseSeconds(s string) (float64, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(s)
	return d.Seconds(), err
}
