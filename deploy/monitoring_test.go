package deploy

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

var metricName = regexp.MustCompile(`\bsnowfall_[a-z_]+\b`)

// exportedMetrics returns the series names a leased snowfall serve exports on /metrics, with a
// histogram's _bucket, _sum and _count.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	u, _ := startCommand(t, "snowfall", baseEnv(), "serve", "--host", "127.0.0.1", "--port", "0", "--db", db)
	if code, body := cmdtest.Get(t, u+"/"); code != 200 { // so that every route's series exist
		t.Fatalf("GET /: %d %q", code, body)
	}
	code, body := cmdtest.Get(t, u+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
			if f[3] == "histogram" {
				for _, s := range []string{"_bucket", "_sum", "_count"} {
					names[f[2]+s] = true
				}
			}
		}
	}
	return names
}

// dashboardExprs returns the PromQL expressions of the Grafana dashboard's panels.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return exprs
}

// alertExprs returns the expressions of the alerting rules, by alert name.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	exprs := map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			exprs[r.Alert] = r.Expr
		}
	}
	return exprs
}

// TestMonitoringMetrics checks that the dashboard and the alerting rules use only series the
// server exports, that the dashboard shows every snowfall series, and that the alerts the issue
// asks for exist.
func TestMonitoringMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	used := map[string]bool{}
	check := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			used[m] = true
			if !exported[m] {
				t.Errorf("%s uses %s, which /metrics does not export", where, m)
			}
		}
	}
	for _, e := range dashboardExprs(t) {
		check("dashboard query "+e, e)
	}
	for name := range exported {
		if strings.HasPrefix(name, "snowfall_") && !used[name] && !strings.HasSuffix(name, "_sum") && !strings.HasSuffix(name, "_count") &&
			name != "snowfall_http_request_duration_seconds" {
			t.Errorf("the dashboard does not show %s", name)
		}
	}
	alerts := alertExprs(t)
	for name, e := range alerts {
		check("alert "+name, e)
	}
	for _, want := range []string{"snowfall_lease_expiry_seconds", "snowfall_fenced", "snowfall_id_requests_refused_total",
		"snowfall_clock_backwards_total", "snowfall_layout_remaining_seconds"} {
		found := false
		for _, e := range alerts {
			found = found || strings.Contains(e, want)
		}
		if !found {
			t.Errorf("no alert on %s", want)
		}
	}
}
