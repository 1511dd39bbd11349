package deploy

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/snowfall-go/snowfall/sqlassign"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// The parts of the Kubernetes objects the test reads.
type (
	k8sProbe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port any    `yaml:"port"`
		} `yaml:"httpGet"`
	}
	k8sContainer struct {
		Name  string   `yaml:"name"`
		Image string   `yaml:"image"`
		Args  []string `yaml:"args"`
		Env   []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports []struct {
			Name          string `yaml:"name"`
			ContainerPort int    `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
		ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
		StartupProbe   *k8sProbe `yaml:"startupProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
		} `yaml:"resources"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		} `yaml:"securityContext"`
	}
	k8sObject struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
		StringData map[string]string `yaml:"stringData"`
		Spec       struct {
			Replicas *int `yaml:"replicas"`
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			MaxUnavailable any `yaml:"maxUnavailable"`
			MinAvailable   any `yaml:"minAvailable"`
			Ports          []struct {
				Port       int `yaml:"port"`
				TargetPort any `yaml:"targetPort"`
			} `yaml:"ports"`
			Template struct {
				Metadata struct {
					Labels map[string]string `yaml:"labels"`
				} `yaml:"metadata"`
				Spec struct {
					TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
					SecurityContext               struct {
						RunAsNonRoot *bool `yaml:"runAsNonRoot"`
						RunAsUser    *int  `yaml:"runAsUser"`
					} `yaml:"securityContext"`
					Containers []k8sContainer `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
)

// loadK8s parses every YAML document of deploy/kubernetes, by kind.
func loadK8s(t *testing.T) map[string][]k8sObject {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	byKind := map[string][]k8sObject{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(false)
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "" || o.APIVersion == "" {
				t.Errorf("%s: a document without kind or apiVersion", f)
			}
			byKind[o.Kind] = append(byKind[o.Kind], o)
		}
	}
	return byKind
}

func one(t *testing.T, objs map[string][]k8sObject, kind string) k8sObject {
	t.Helper()
	if len(objs[kind]) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(objs[kind]), kind)
	}
	return objs[kind][0]
}

// TestKubernetes checks the manifests against the real command: the container's args and env are
// flags of snowfall serve, its port is the one the server listens on, the probes use the server's
// probe paths on that port, the database URL comes from the Secret (and is a URL sqlassign
// accepts), the grace exceeds the server's shutdown grace, the pod runs as non-root with resource
// requests, and the Service and PodDisruptionBudget select the pods. Then it runs the container's
// command line with the manifest's environment against the test database.
func TestKubernetes(t *testing.T) {
	objs := loadK8s(t)
	dep, svc, pdb, sec := one(t, objs, "Deployment"), one(t, objs, "Service"), one(t, objs, "PodDisruptionBudget"), one(t, objs, "Secret")
	if len(objs["Kustomization"]) != 1 {
		t.Errorf("no kustomization.yaml")
	}
	serve := flagsOf(t, "snowfall", "serve")
	ps := dep.Spec.Template.Spec
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("container args %q, want snowfall serve", c.Args)
	}
	checkArgs(t, "deployment args", serve, c.Args[1:])

	env := map[string]string{}
	var dbFromSecret bool
	for _, e := range c.Env {
		checkEnv(t, "deployment env", serve, e.Name)
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			ref := e.ValueFrom.SecretKeyRef
			if ref.Name != sec.Metadata.Name {
				t.Errorf("env %s from secret %q, want %q", e.Name, ref.Name, sec.Metadata.Name)
			}
			v, ok := sec.StringData[ref.Key]
			if !ok {
				t.Errorf("env %s from key %q, which the Secret lacks", e.Name, ref.Key)
			}
			if e.Name == "SNOWFALL_DB" {
				dbFromSecret = true
				if err := sqlassign.CheckURL(v, env["SNOWFALL_GROUP"]); err != nil {
					t.Errorf("the Secret's database URL: %v", err)
				}
			}
		}
	}
	if !dbFromSecret {
		t.Error("SNOWFALL_DB does not come from a Secret")
	}
	port := serve["port"].def
	if p, ok := env["SNOWFALL_PORT"]; ok {
		port = p
	}
	if len(c.Ports) != 1 || itoa(c.Ports[0].ContainerPort) != port {
		t.Fatalf("container ports %+v, want one on the server's port %s", c.Ports, port)
	}
	if h := env["SNOWFALL_HOST"]; h != "0.0.0.0" && h != "" {
		t.Errorf("SNOWFALL_HOST %q: the server must listen on all interfaces in a pod", h)
	}
	portName := c.Ports[0].Name
	for name, p := range map[string]*k8sProbe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
		if p == nil {
			if name != "startup" {
				t.Errorf("no %s probe", name)
			}
			continue
		}
		if p.HTTPGet == nil || !probePaths[p.HTTPGet.Path] {
			t.Errorf("%s probe %+v: want an httpGet on one of the server's probe paths", name, p.HTTPGet)
			continue
		}
		if pp := toString(p.HTTPGet.Port); pp != portName && pp != port {
			t.Errorf("%s probe port %q, want %q or %s", name, pp, portName, port)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/livez" {
		t.Errorf("liveness probe on %s: only /livez never depends on the database", c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path == "/livez" {
		t.Error("readiness probe on /livez: it must say whether the pod can issue (/readyz)")
	}
	if g := ps.TerminationGracePeriodSeconds; g == nil {
		t.Errorf("no terminationGracePeriodSeconds, want more than the server's %v", defaultShutdownGrace)
	} else if float64(*g) <= defaultShutdownGrace.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %d, want more than the server's %v", *g, defaultShutdownGrace)
	}
	if sc := ps.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", sc)
	}
	if sc := c.SecurityContext; sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("container securityContext allows privilege escalation")
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" {
		t.Errorf("resource requests %v, want cpu and memory", c.Resources.Requests)
	}
	labels := dep.Spec.Template.Metadata.Labels
	for what, sel := range map[string]map[string]string{"deployment": dep.Spec.Selector.MatchLabels, "pdb": pdb.Spec.Selector.MatchLabels} {
		if len(sel) == 0 || !subset(sel, labels) {
			t.Errorf("%s selector %v does not select the pod labels %v", what, sel, labels)
		}
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Error("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}
	var svcSel struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
		} `yaml:"spec"`
	}
	b, _ := os.ReadFile("kubernetes/service.yaml")
	if err := yaml.Unmarshal(b, &svcSel); err != nil || len(svcSel.Spec.Selector) == 0 || !subset(svcSel.Spec.Selector, labels) {
		t.Errorf("service selector %v (%v) does not select the pod labels %v", svcSel.Spec.Selector, err, labels)
	}
	if len(svc.Spec.Ports) != 1 || (toString(svc.Spec.Ports[0].TargetPort) != portName && toString(svc.Spec.Ports[0].TargetPort) != port) {
		t.Errorf("service ports %+v, want one with targetPort %s", svc.Spec.Ports, portName)
	}

	// The container's command line and environment, on loopback against the test database.
	runEnv := baseEnv("SNOWFALL_DB="+postgresURL(), "SNOWFALL_GROUP="+group(t), "SNOWFALL_HOST=127.0.0.1", "SNOWFALL_PORT=0")
	for k, v := range env {
		switch k {
		case "SNOWFALL_DB", "SNOWFALL_GROUP", "SNOWFALL_HOST", "SNOWFALL_PORT":
		default:
			runEnv = append(runEnv, k+"="+v)
		}
	}
	u, stop := startCommand(t, "snowfall", runEnv, c.Args...)
	if code, body := cmdtest.Get(t, u+"/stats"); code != 200 || !strings.Contains(body, `"state":"held"`) {
		t.Errorf("GET /stats: %d %q, want a held lease", code, body)
	}
	if code, body := cmdtest.Get(t, u+"/healthz"); code != 200 {
		t.Errorf("GET /healthz: %d %q", code, body)
	}
	if log := stop(); !strings.Contains(log, `"msg":"lease released"`) {
		t.Errorf("no JSON 'lease released' record after SIGTERM:\n%s", log)
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return itoa(x)
	}
	return ""
}

func itoa(n int) string { return strconv.Itoa(n) }
