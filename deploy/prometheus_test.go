package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// scrapeTargets returns the static targets of a Prometheus configuration file.
func scrapeTargets(t testing.TB, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(b, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	targets := map[string]bool{}
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("%s: metrics_path %q, want /metrics", path, sc.MetricsPath)
		}
		for _, st := range sc.StaticConfigs {
			for _, tg := range st.Targets {
				targets[tg] = true
			}
		}
	}
	return targets
}

// lookTool finds a tool .ci/deploy-deps.sh installs; without it the test fails where CI is set,
// and is skipped elsewhere.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		msg := name + " not found (run .ci/deploy-deps.sh): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestPrometheus runs a real Prometheus (Debian's package) on loopback against a running snowfall
// serve, with the alerting rules of monitoring/alerts.yml, and queries a Snowfall series and the
// rules through its HTTP API. Bounded: it gives up after 60 s.
func TestPrometheus(t *testing.T) {
	prom := lookTool(t, "prometheus")
	srv, _ := startCommand(t, "snowfall", baseEnv(), "serve", "--host", "127.0.0.1", "--port", "0", "--generator", "42")
	target := strings.TrimPrefix(srv, "http://")
	dir := t.TempDir()
	rules, err := filepath.Abs("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: snowfall
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(prom, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	query := func(q string) (result []struct {
		Metric map[string]string
		Value  []any
	}, err error) {
		resp, err := httpGetJSON("http://" + addr + "/api/v1/query?query=" + q)
		if err != nil {
			return nil, err
		}
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  []any
				}
			}
		}
		if err := json.Unmarshal(resp, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", resp, err)
		}
		return r.Data.Result, nil
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := query("snowfall_info")
		if err == nil && len(res) == 1 {
			m := res[0].Metric
			if m["generator"] != "42" || m["layout"] != "snowfall" || m["job"] != "snowfall" || m["instance"] != target {
				t.Errorf("snowfall_info labels %v, want generator 42, layout snowfall, job snowfall, instance %s", m, target)
			}
			if len(res[0].Value) != 2 || res[0].Value[1] != "1" {
				t.Errorf("snowfall_info value %v, want 1", res[0].Value)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no snowfall_info series in Prometheus after 60s (last: %v %v); prometheus log:\n%s", res, err, out.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	res, err := query("snowfall_layout_remaining_seconds")
	if err != nil || len(res) != 1 {
		t.Errorf("snowfall_layout_remaining_seconds: %v %v", res, err)
	}
	// Every dashboard query is valid PromQL, with Grafana's variables filled in.
	fill := strings.NewReplacer("$job", ".*", "$__rate_interval", "1m", "$__range", "5m")
	for _, e := range dashboardExprs(t) {
		if _, err := query(url.QueryEscape(fill.Replace(e))); err != nil {
			t.Errorf("dashboard query %s: %v", e, err)
		}
	}
	body, err := httpGetJSON("http://" + addr + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var rr struct {
		Data struct {
			Groups []struct {
				Name  string
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := json.Unmarshal(body, &rr); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range rr.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health == "err" {
				t.Errorf("rule %s: %s", r.Name, r.LastError)
			}
		}
	}
	if n < 6 {
		t.Errorf("Prometheus loaded %d rules from alerts.yml, want at least 6: %s", n, body)
	}
}
