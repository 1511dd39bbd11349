package deploy

import (
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

type composeFile struct {
	Services map[string]struct {
		Build       any               `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		DependsOn   any               `yaml:"depends_on"`
		StopSignal  string            `yaml:"stop_signal"`
		StopGrace   string            `yaml:"stop_grace_period"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// TestCompose checks compose.yaml: three Snowfall services leasing from the PostgreSQL service with
// real flags, environment variables, ports and probe paths, a stop grace longer than the server's,
// and a Prometheus that mounts the monitoring directory and scrapes every Snowfall service on the
// port it listens on. Then it runs the services' command line against the test database.
func TestCompose(t *testing.T) {
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(b, &cf); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	serve := flagsOf(t, "snowfall", "serve")
	probe := flagsOf(t, "snowfall", "probe")
	port := serve["port"].def
	if port == "" {
		t.Fatal("snowfall serve -h shows no default port")
	}
	pg, ok := cf.Services["postgres"]
	if !ok {
		t.Fatal("no postgres service")
	}
	var snowfalls []string
	for name, s := range cf.Services {
		if !strings.HasPrefix(name, "snowfall") {
			continue
		}
		snowfalls = append(snowfalls, name)
		where := "compose.yaml " + name
		if len(s.Command) == 0 || s.Command[0] != "serve" {
			t.Fatalf("%s: command %q, want snowfall serve", where, s.Command)
		}
		checkArgs(t, where, serve, s.Command[1:])
		for k := range s.Environment {
			checkEnv(t, where, serve, k)
		}
		db, err := url.Parse(s.Environment["SNOWFALL_DB"])
		if err != nil || db.Scheme != "postgres" || db.Hostname() != "postgres" {
			t.Errorf("%s: SNOWFALL_DB %q, want a postgres URL to the postgres service", where, s.Environment["SNOWFALL_DB"])
		} else if pw, _ := db.User.Password(); pw != pg.Environment["POSTGRES_PASSWORD"] || strings.TrimPrefix(db.Path, "/") != pg.Environment["POSTGRES_DB"] {
			t.Errorf("%s: SNOWFALL_DB %q does not match the postgres service's password and database", where, db.Redacted())
		}
		if len(s.Ports) != 1 || !strings.HasSuffix(s.Ports[0], ":"+port) {
			t.Errorf("%s: ports %q, want one mapping to the server's port %s", where, s.Ports, port)
		}
		if s.StopSignal != "SIGTERM" {
			t.Errorf("%s: stop_signal %q, want SIGTERM", where, s.StopSignal)
		}
		checkGrace(t, where, s.StopGrace)
		hc := s.Healthcheck.Test
		if len(hc) < 3 || hc[0] != "CMD" || hc[1] != "snowfall" || hc[2] != "probe" {
			t.Errorf("%s: healthcheck %q, want CMD snowfall probe …", where, hc)
		} else {
			path := hc[len(hc)-1]
			given := checkArgs(t, where+" healthcheck", probe, hc[3:len(hc)-1])
			if !probePaths[path] {
				t.Errorf("%s: healthcheck path %q is not a probe path of the server", where, path)
			}
			if u, err := url.Parse(given["server"]); err != nil || u.Port() != port {
				t.Errorf("%s: healthcheck --server %q, want the server's port %s", where, given["server"], port)
			}
		}
	}
	if len(snowfalls) != 3 {
		t.Errorf("snowfall services %q, want three", snowfalls)
	}
	prom, ok := cf.Services["prometheus"]
	if !ok {
		t.Fatal("no prometheus service")
	}
	if len(prom.Volumes) != 1 || !strings.HasPrefix(prom.Volumes[0], "./deploy/monitoring:/etc/prometheus") {
		t.Errorf("prometheus volumes %q, want ./deploy/monitoring mounted at /etc/prometheus", prom.Volumes)
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
	s := cf.Services[snowfalls[0]]
	args := append([]string(nil), s.Command...)
	for i := range args {
		if i > 0 && args[i-1] == "--group" {
			args[i] = group(t)
		}
	}
	env := baseEnv("SNOWFALL_DB="+postgresURL(), "SNOWFALL_HOST=127.0.0.1", "SNOWFALL_PORT=0")
	for k, v := range s.Environment {
		if k != "SNOWFALL_DB" {
			env = append(env, k+"="+v)
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
