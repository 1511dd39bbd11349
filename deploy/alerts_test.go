package deploy

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	yaml "go.yaml.in/yaml/v3"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// The series the alert tests feed promtool: every snowfall_ gauge and counter of a real server's
// /metrics, with the labels it has there plus the target labels a scrape adds, sampled every 15 s
// for 20 minutes. Each scenario changes some of them the way a fault would; a scenario that names
// a series or label the server does not export fails the test, so a rename breaks it.
const (
	alertStep    = 15 // seconds between samples and between rule evaluations
	alertSamples = 81 // 0 to 20 minutes
	instance     = "10.1.2.3:8910"
)

// series is one input series: its labels (with __name__) and one value per sample ("stale" for a
// staleness marker).
type series struct {
	labels map[string]string
	values []string
}

func (s *series) String() string {
	var b strings.Builder
	b.WriteString(s.labels["__name__"] + "{")
	for i, k := range slices.Sorted(maps.Keys(s.labels)) {
		if k == "__name__" {
			continue
		}
		if i > 0 && b.Len() > len(s.labels["__name__"])+1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, s.labels[k])
	}
	b.WriteString("}")
	return b.String()
}

// scrapeSeries starts a leased snowfall serve (SQLite, a 5 s probe: a 10 s lease) and returns its
// snowfall_ gauges and counters as constant series, and up, without the target labels (see
// withTarget), and the lease expiry it showed.
func scrapeSeries(t *testing.T) (map[string]*series, float64) {
	t.Helper()
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	u, _ := startCommand(t, "snowfall", baseEnv(), "serve", "--host", "127.0.0.1", "--port", "0", "--db", db, "--probe", "5s")
	if code, body := cmdtest.Get(t, u+"/"); code != 200 {
		t.Fatalf("GET /: %d %q", code, body)
	}
	code, body := cmdtest.Get(t, u+"/metrics")
	if code != 200 {
		t.Fatalf("GET /metrics: %d", code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string]*series{}
	for name, f := range fams {
		if !strings.HasPrefix(name, "snowfall_") {
			continue
		}
		for _, m := range f.Metric {
			var v float64
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			default:
				continue
			}
			s := &series{labels: map[string]string{"__name__": name}}
			for _, l := range m.Label {
				s.labels[l.GetName()] = l.GetValue()
			}
			for range alertSamples {
				s.values = append(s.values, strconv.FormatFloat(v, 'g', -1, 64))
			}
			out[s.String()] = s
		}
	}
	up := &series{labels: map[string]string{"__name__": "up"}}
	for range alertSamples {
		up.values = append(up.values, "1")
	}
	out[up.String()] = up
	lease := 0.0
	for _, s := range out {
		if s.labels["__name__"] == "snowfall_lease_expiry_seconds" {
			lease, _ = strconv.ParseFloat(s.values[0], 64)
		}
	}
	return out, lease
}

// withTarget returns a copy of ss with the target labels a scrape by job adds: job and instance.
func withTarget(ss map[string]*series, job string) map[string]*series {
	out := map[string]*series{}
	for _, s := range ss {
		c := &series{labels: maps.Clone(s.labels), values: slices.Clone(s.values)}
		c.labels["job"], c.labels["instance"] = job, instance
		out[c.String()] = c
	}
	return out
}

// find returns the one series named name whose labels include match; none or several fail the test.
func find(t *testing.T, ss map[string]*series, name string, match map[string]string) *series {
	t.Helper()
	var found []*series
	for _, s := range ss {
		if s.labels["__name__"] != name {
			continue
		}
		ok := true
		for k, v := range match {
			ok = ok && s.labels[k] == v
		}
		if ok {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the server's /metrics has %d series %s%v, want 1: was a metric or label renamed?", len(found), name, match)
	}
	return found[0]
}

// set sets a series' values from sample from on: v(i) for sample i.
func (s *series) set(from int, v func(i int) float64) {
	for i := from; i < len(s.values); i++ {
		s.values[i] = strconv.FormatFloat(v(i), 'g', -1, 64)
	}
}

func (s *series) value(i int) float64 {
	v, _ := strconv.ParseFloat(s.values[i], 64)
	return v
}

// healthy makes the lease's expiry the saw-tooth of a lease renewed on time (every probe, back to
// a full lease; a probe is half a lease) and counts issued IDs up: a server at work, no fault.
func healthy(t *testing.T, ss map[string]*series, lease float64) {
	exp := find(t, ss, "snowfall_lease_expiry_seconds", nil)
	exp.set(0, func(i int) float64 { return lease - float64(i%3)*lease/6 }) // lease, 5/6, 4/6: never below a half
	issued := find(t, ss, "snowfall_ids_issued_total", nil)
	base := issued.value(0)
	issued.set(0, func(i int) float64 { return base + float64(100*i) })
}

// alertCase is one scenario: what it does to the series, and the alert expected at an
// evaluation time, with its rendered summary.
type alertCase struct {
	alert   string
	job     string
	fault   func(t *testing.T, ss map[string]*series, lease float64)
	at      string // evaluation time
	summary string
	labels  map[string]string // besides job, instance and the rule's labels
}

const from = 40 // the sample (10 minutes) at which faults start

func counterStep(t *testing.T, ss map[string]*series, name string, per float64) {
	c := find(t, ss, name, nil)
	base := c.value(0)
	c.set(from, func(i int) float64 { return base + per*float64(i-from+1) })
}

var alertCases = []alertCase{
	{alert: "SnowfallFenced", job: "snowfall", at: "12m", summary: instance + " refuses to issue IDs (fenced) for over a minute",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			find(t, ss, "snowfall_fenced", nil).set(from, func(int) float64 { return 1 })
			find(t, ss, "snowfall_lease_state", map[string]string{"state": "held"}).set(from, func(int) float64 { return 0 })
			find(t, ss, "snowfall_lease_state", map[string]string{"state": "fenced"}).set(from, func(int) float64 { return 1 })
		}},
	{alert: "SnowfallLeaseNearExpiry", job: "snowfall", at: "10m", summary: instance + ": lease expires in 2s, not renewed in time",
		// One renewal late: still held, 2 s of a 10 s lease left when scraped.
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			find(t, ss, "snowfall_lease_expiry_seconds", nil).values[from] = "2"
		}},
	{alert: "SnowfallLeaseRenewalsFailing", job: "snowfall", at: "11m", summary: instance + ": lease renewals or claims failed in the last 5 minutes",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			counterStep(t, ss, "snowfall_lease_failures_total", 1)
		}},
	{alert: "SnowfallLeaseLost", job: "snowfall", at: "11m", summary: instance + " lost its lease (to expiry or another holder) in the last 15 minutes",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			c := find(t, ss, "snowfall_lease_losses_total", nil)
			c.set(from, func(int) float64 { return c.value(0) + 1 })
		}},
	{alert: "SnowfallRefusalsRising", job: "snowfall", at: "17m", summary: instance + " answers ID requests with 503 (1/s over 5 minutes)",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			counterStep(t, ss, "snowfall_id_requests_refused_total", alertStep)
		}},
	{alert: "SnowfallClockBackwards", job: "snowfall", at: "11m", summary: instance + ": the clock moved backwards in the last 10 minutes",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			c := find(t, ss, "snowfall_clock_backwards_total", nil)
			c.set(from, func(int) float64 { return c.value(0) + 1 })
		}},
	{alert: "SnowfallIDSpaceUnderAYear", job: "snowfall", at: "11m", summary: instance + ": the layout's time field runs out in 30d 0h 0m 0s",
		fault: func(t *testing.T, ss map[string]*series, _ float64) {
			find(t, ss, "snowfall_layout_remaining_seconds", nil).set(from, func(int) float64 { return 30 * 24 * 3600 })
		}},
	{alert: "SnowfallDown", job: "snowfall", at: "13m", summary: instance + " does not answer scrapes", fault: down},
	// The Kubernetes recipe's scrape annotations, read by the usual kubernetes-pods job.
	{alert: "SnowfallDown", job: "kubernetes-pods", at: "13m", summary: instance + " does not answer scrapes", fault: down},
}

// down: the target stops answering; Prometheus records up 0 and marks every series of the target
// stale.
func down(t *testing.T, ss map[string]*series, _ float64) {
	for _, s := range ss {
		for i := from; i < len(s.values); i++ {
			if s.labels["__name__"] == "up" {
				s.values[i] = "0"
			} else {
				s.values[i] = "stale"
			}
		}
	}
}

// alertRules returns every rule of monitoring/alerts.yml: name (alert or record) → its labels.
func alertRules(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert, Record string
				Labels        map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out[r.Alert+r.Record] = r.Labels
		}
	}
	return out
}

// TestAlertsFire runs promtool test rules on monitoring/alerts.yml with series made from a real
// server's /metrics: every rule has a scenario in which it fires, with its summary rendered, and
// none of them fires on the healthy series, at any of several times. Every rule of the file must
// have a scenario here (recording rules included), so a rule cannot go untested.
func TestAlertsFire(t *testing.T) {
	promtool := lookTool(t, "promtool")
	rules := alertRules(t)
	covered := map[string]bool{}
	for _, c := range alertCases {
		covered[c.alert] = true
	}
	for name := range rules {
		if !covered[name] {
			t.Errorf("rule %s has no scenario in alertCases: add one in which it fires", name)
		}
	}
	rulesPath, err := filepath.Abs("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	type expAlert struct {
		ExpLabels      map[string]string `yaml:"exp_labels"`
		ExpAnnotations map[string]string `yaml:"exp_annotations,omitempty"`
	}
	type alertTest struct {
		EvalTime  string     `yaml:"eval_time"`
		Alertname string     `yaml:"alertname"`
		ExpAlerts []expAlert `yaml:"exp_alerts"`
	}
	type inputSeries struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	type testGroup struct {
		Name       string        `yaml:"name"`
		Interval   string        `yaml:"interval"`
		Input      []inputSeries `yaml:"input_series"`
		AlertTests []alertTest   `yaml:"alert_rule_test"`
	}
	input := func(ss map[string]*series) []inputSeries {
		var in []inputSeries
		for _, k := range slices.Sorted(maps.Keys(ss)) {
			in = append(in, inputSeries{Series: k, Values: strings.Join(ss[k].values, " ")})
		}
		return in
	}
	annotations := alertAnnotations(t)
	scraped, lease := scrapeSeries(t)
	if lease < 5 || lease > 10 {
		t.Fatalf("lease expiry %v s on a fresh 10 s lease", lease)
	}
	var groups []testGroup
	for _, job := range []string{"snowfall", "kubernetes-pods"} {
		ss := withTarget(scraped, job)
		healthy(t, ss, 10)
		g := testGroup{Name: "healthy, job " + job, Interval: fmt.Sprint(alertStep, "s"), Input: input(ss)}
		for _, name := range slices.Sorted(maps.Keys(rules)) {
			for _, at := range []string{"1m", "5m", "10m", "13m", "17m", "20m"} {
				g.AlertTests = append(g.AlertTests, alertTest{EvalTime: at, Alertname: name})
			}
		}
		groups = append(groups, g)
	}
	for _, c := range alertCases {
		ss := withTarget(scraped, c.job)
		healthy(t, ss, 10)
		c.fault(t, ss, 10)
		labels := map[string]string{"job": c.job, "instance": instance}
		maps.Copy(labels, rules[c.alert])
		maps.Copy(labels, c.labels)
		ann := map[string]string{"summary": c.summary}
		if d := annotations[c.alert]["description"]; d != "" {
			ann["description"] = d // static text: the summary carries the values
		}
		groups = append(groups, testGroup{Name: c.alert + ", job " + c.job, Interval: fmt.Sprint(alertStep, "s"), Input: input(ss),
			AlertTests: []alertTest{{EvalTime: c.at, Alertname: c.alert, ExpAlerts: []expAlert{{ExpLabels: labels, ExpAnnotations: ann}}}}})
	}
	file := struct {
		RuleFiles          []string    `yaml:"rule_files"`
		EvaluationInterval string      `yaml:"evaluation_interval"`
		Tests              []testGroup `yaml:"tests"`
	}{[]string{rulesPath}, fmt.Sprint(alertStep, "s"), groups}
	b, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "alerts_test.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Errorf("promtool test rules (%d scenarios, %d series each): %v\n%s", len(groups), len(groups[0].Input), err, out)
	}
}

// alertAnnotations returns the annotations of every alert, as written.
func alertAnnotations(t *testing.T) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile("monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert       string
				Annotations map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Annotations
		}
	}
	return out
}
