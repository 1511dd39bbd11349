package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// kustomization is the part of a kustomize.config.k8s.io/v1beta1 Kustomization the recipe uses;
// it is decoded strictly, so any other field fails the test.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName"`
		NewTag  string `json:"newTag"`
		Digest  string `json:"digest"`
	} `json:"images"`
}

// k8sDecoder decodes the API groups the recipe uses into their Go types, strictly: an unknown or
// duplicate field is an error, as kubectl apply --validate=strict reports it.
func k8sDecoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// decodeK8s decodes every YAML document of data into its API type.
func decodeK8s(t *testing.T, dec runtime.Decoder, name string, data []byte) ([]runtime.Object, error) {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// loadK8s decodes deploy/kubernetes: the kustomization, and every manifest it lists, by kind. Every
// manifest file must be listed.
func loadK8s(t *testing.T) (kustomization, map[string][]runtime.Object) {
	t.Helper()
	var k kustomization
	b, err := os.ReadFile("kubernetes/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := sigsyaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml: %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	var manifests []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			manifests = append(manifests, filepath.Base(f))
		}
	}
	if got := slices.Sorted(slices.Values(k.Resources)); !slices.Equal(got, manifests) {
		t.Errorf("kustomization resources %q, want every manifest of deploy/kubernetes %q", got, manifests)
	}
	dec := k8sDecoder(t)
	byKind := map[string][]runtime.Object{}
	for _, f := range k.Resources {
		b, err := os.ReadFile(filepath.Join("kubernetes", f))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeK8s(t, dec, f, b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			kind := o.GetObjectKind().GroupVersionKind().Kind
			byKind[kind] = append(byKind[kind], o)
		}
	}
	return k, byKind
}

// TestKubernetesStrict proves that the decoding TestKubernetes relies on rejects what the API
// server would: a misspelt field, a duplicate field, a value of the wrong type.
func TestKubernetesStrict(t *testing.T) {
	b, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := k8sDecoder(t)
	if _, err := decodeK8s(t, dec, "deployment.yaml", b); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
	for name, mutate := range map[string]func(string) string{
		"misspelt field": func(s string) string {
			return strings.Replace(s, "terminationGracePeriodSeconds:", "terminationGracePeriodSecond:", 1)
		},
		"duplicate field": func(s string) string {
			return strings.Replace(s, "      automountServiceAccountToken: false\n", "      automountServiceAccountToken: false\n      automountServiceAccountToken: true\n", 1)
		},
		"wrong type": func(s string) string { return strings.Replace(s, "replicas: 3", "replicas: three", 1) },
		"unknown probe field": func(s string) string {
			return strings.Replace(s, "path: /readyz", "path: /readyz\n              scheme: HTTP\n              host2: x", 1)
		},
	} {
		m := mutate(string(b))
		if m == string(b) {
			t.Fatalf("%s: the mutation changed nothing", name)
		}
		if _, err := decodeK8s(t, dec, "deployment.yaml", []byte(m)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// TestKubernetes checks the manifests, decoded strictly into the Kubernetes API types, against the
// real command: the container's args and env are flags of snowfall serve (the drain delay
// included), its port is the one the server listens on, the probes use the server's probe paths
// on that port (liveness /livez, readiness /readyz), the database URL comes from the Secret that
// docs/operations.md tells the operator to create (and the kustomization holds no Secret), the
// image has a fixed tag that the kustomization sets and a pull policy, the grace exceeds the
// drain delay plus the server's shutdown grace, the pod runs as non-root with resource requests,
// and the Service and PodDisruptionBudget select the pods. Where kubectl is installed, kubectl
// kustomize renders the kustomization and the result decodes strictly too. Then it runs the
// container's command line with the manifest's environment against the test database.
func TestKubernetes(t *testing.T) {
	k, objs := loadK8s(t)
	if len(objs["Secret"]) != 0 {
		t.Errorf("the kustomization holds %d Secret(s): kubectl apply -k would overwrite the one the operator created", len(objs["Secret"]))
	}
	for kind, n := range map[string]int{"Deployment": 1, "Service": 1, "PodDisruptionBudget": 1} {
		if len(objs[kind]) != n {
			t.Fatalf("%d objects of kind %s, want %d", len(objs[kind]), kind, n)
		}
	}
	dep := objs["Deployment"][0].(*appsv1.Deployment)
	svc := objs["Service"][0].(*corev1.Service)
	pdb := objs["PodDisruptionBudget"][0].(*policyv1.PodDisruptionBudget)
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

	// The image: a fixed tag (or digest), the kustomization's, and a pull policy.
	name, tag, _ := strings.Cut(c.Image[strings.LastIndex(c.Image, "/")+1:], ":")
	repo := c.Image[:strings.LastIndex(c.Image, "/")+1] + name
	if tag == "" || tag == "latest" || !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(tag) {
		t.Errorf("image %q: want a fixed release tag (vX.Y.Z), not %q", c.Image, tag)
	}
	if c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy %q, want IfNotPresent (a fixed tag never changes)", c.ImagePullPolicy)
	}
	if len(k.Images) != 1 || k.Images[0].Name != repo || k.Images[0].NewTag != tag {
		t.Errorf("kustomization images %+v, want one entry for %s with tag %s", k.Images, repo, tag)
	}

	env := map[string]string{}
	var secretRef *corev1.SecretKeySelector
	for _, e := range c.Env {
		checkEnv(t, "deployment env", serve, e.Name)
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.Name == "SNOWFALL_DB" {
			secretRef = e.ValueFrom.SecretKeyRef
		}
	}
	if secretRef == nil {
		t.Error("SNOWFALL_DB does not come from a Secret")
	} else {
		checkSecretCommand(t, secretRef)
	}
	port := serve["port"].def
	if p, ok := env["SNOWFALL_PORT"]; ok {
		port = p
	}
	if len(c.Ports) != 1 || strconv.Itoa(int(c.Ports[0].ContainerPort)) != port {
		t.Fatalf("container ports %+v, want one on the server's port %s", c.Ports, port)
	}
	if h := env["SNOWFALL_HOST"]; h != "0.0.0.0" && h != "" {
		t.Errorf("SNOWFALL_HOST %q: the server must listen on all interfaces in a pod", h)
	}
	portName := c.Ports[0].Name
	for what, want := range map[string]struct {
		p    *corev1.Probe
		path string
	}{"liveness": {c.LivenessProbe, "/livez"}, "readiness": {c.ReadinessProbe, "/readyz"}, "startup": {c.StartupProbe, "/livez"}} {
		p := want.p
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no %s probe with httpGet", what)
			continue
		}
		// Liveness never depends on the database (/livez), readiness says whether the pod can
		// issue (/readyz).
		if p.HTTPGet.Path != want.path || !probePaths[p.HTTPGet.Path] {
			t.Errorf("%s probe on %s, want %s", what, p.HTTPGet.Path, want.path)
		}
		if pp := p.HTTPGet.Port; pp.String() != portName && pp.String() != port {
			t.Errorf("%s probe port %q, want %q or %s", what, pp.String(), portName, port)
		}
	}
	drain := time.Duration(0)
	if d, ok := env["SNOWFALL_DRAIN_DELAY"]; !ok {
		t.Error("no SNOWFALL_DRAIN_DELAY: the listener would close before endpoints and load balancers stop sending requests")
	} else if drain, _ = time.ParseDuration(d); drain <= 0 {
		t.Errorf("SNOWFALL_DRAIN_DELAY %q, want a positive duration", d)
	}
	if g := ps.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= drain+defaultShutdownGrace {
		t.Errorf("terminationGracePeriodSeconds %v, want more than the drain delay %v plus the server's shutdown grace %v", g, drain, defaultShutdownGrace)
	}
	if sc := ps.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and a non-zero runAsUser", sc)
	}
	if sc := c.SecurityContext; sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("container securityContext allows privilege escalation or a writable root filesystem")
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("resource requests %v, want cpu and memory", c.Resources.Requests)
	}
	labels := dep.Spec.Template.Labels
	for what, sel := range map[string]map[string]string{"deployment": dep.Spec.Selector.MatchLabels, "pdb": pdb.Spec.Selector.MatchLabels, "service": svc.Spec.Selector} {
		if len(sel) == 0 || !subset(sel, labels) {
			t.Errorf("%s selector %v does not select the pod labels %v", what, sel, labels)
		}
	}
	if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
		t.Error("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
	}
	if len(svc.Spec.Ports) != 1 || (svc.Spec.Ports[0].TargetPort != intstr.FromString(portName) && svc.Spec.Ports[0].TargetPort.String() != port) {
		t.Errorf("service ports %+v, want one with targetPort %s", svc.Spec.Ports, portName)
	}
	renderKustomization(t, c.Image)

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
	for _, p := range []string{"/livez", "/readyz"} {
		if code, body := cmdtest.Get(t, u+p); code != 200 {
			t.Errorf("GET %s: %d %q", p, code, body)
		}
	}
	if log := stop(); !strings.Contains(log, `"msg":"lease released"`) {
		t.Errorf("no JSON 'lease released' record after SIGTERM:\n%s", log)
	}
}

var secretCommand = regexp.MustCompile(`kubectl create secret generic (\S+) --from-literal=([A-Za-z0-9_.-]+)=`)

// checkSecretCommand checks that docs/operations.md and kustomization.yaml tell the operator to
// create the Secret and key the Deployment reads.
func checkSecretCommand(t *testing.T, ref *corev1.SecretKeySelector) {
	t.Helper()
	for _, f := range []string{"../docs/operations.md", "kubernetes/kustomization.yaml"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := secretCommand.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s has no kubectl create secret generic command for the database URL", f)
			continue
		}
		if string(m[1]) != ref.Name || string(m[2]) != ref.Key {
			t.Errorf("%s creates secret %s key %s; the Deployment reads secret %s key %s", f, m[1], m[2], ref.Name, ref.Key)
		}
	}
}

// renderKustomization runs kubectl kustomize where kubectl is installed (it needs no cluster) and
// decodes what it renders strictly: no Secret, the image as pinned.
func renderKustomization(t *testing.T, image string) {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: the kustomization was decoded, not rendered")
		return
	}
	out, err := exec.Command(kubectl, "kustomize", "kubernetes").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize deploy/kubernetes: %v\n%s", err, stderrOf(err))
	}
	objs, err := decodeK8s(t, k8sDecoder(t), "kubectl kustomize", out)
	if err != nil {
		t.Fatalf("kubectl kustomize's output: %v", err)
	}
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetObjectKind().GroupVersionKind().Kind]++
		if d, ok := o.(*appsv1.Deployment); ok {
			if got := d.Spec.Template.Spec.Containers[0].Image; got != image {
				t.Errorf("kubectl kustomize renders image %s, want %s", got, image)
			}
		}
	}
	if kinds["Secret"] != 0 || kinds["Deployment"] != 1 || kinds["Service"] != 1 || kinds["PodDisruptionBudget"] != 1 {
		t.Errorf("kubectl kustomize renders %v, want one Deployment, Service and PodDisruptionBudget and no Secret", kinds)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}
