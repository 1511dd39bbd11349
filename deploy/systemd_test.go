package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// maxExposure bounds the unit's systemd-analyze security score (0 safest, 10 unsafe): 1.1 with
// systemd 252; 6.8 before the unit was hardened.
const maxExposure = 1.2

var exposure = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// installPath returns where docs/operations.md's install command puts snowfall.
func installPath(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`install -m 755 (?:\S+/)?snowfall (/\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/operations.md has no install -m 755 snowfall /… command")
	}
	return string(m[1])
}

// unitFile parses a systemd unit file into key → values (keys may repeat), ignoring sections.
func unitFile(t *testing.T, path string) map[string][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: line %q is not key=value", path, line)
		}
		kv[k] = append(kv[k], v)
	}
	return kv
}

// TestSystemd checks deploy/systemd/snowfall.service: DynamicUser and StateDirectory, SIGTERM with
// a stop timeout longer than the server's grace, ExecStart and Environment made of real flags, the
// database URL only from an optional EnvironmentFile, ExecStart at the documented install path;
// systemd-analyze verify finds nothing to say and security --offline=true scores it at most
// maxExposure. Then it runs ExecStart with the
// unit's environment, %S pointing at a temporary directory, and checks that the lease database
// lands in the state directory and that SIGTERM releases the lease.
func TestSystemd(t *testing.T) {
	const unit = "systemd/snowfall.service"
	kv := unitFile(t, unit)
	for k, want := range map[string]string{"DynamicUser": "yes", "StateDirectory": "snowfall", "KillSignal": "SIGTERM"} {
		if got := kv[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if ts := kv["TimeoutStopSec"]; len(ts) != 1 {
		t.Errorf("TimeoutStopSec=%q, want one value", ts)
	} else {
		checkGrace(t, unit+" TimeoutStopSec", ts[0])
	}
	serve := flagsOf(t, "snowfall", "serve")
	exec1 := kv["ExecStart"]
	if len(exec1) != 1 {
		t.Fatalf("ExecStart=%q, want one", exec1)
	}
	words := strings.Fields(exec1[0])
	if len(words) < 2 || filepath.Base(words[0]) != "snowfall" || words[1] != "serve" {
		t.Fatalf("ExecStart=%q, want snowfall serve …", exec1[0])
	}
	stateRoot := t.TempDir()
	env := baseEnv()
	for _, e := range kv["Environment"] {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			t.Errorf("Environment=%q is not NAME=value", e)
			continue
		}
		checkEnv(t, unit+" Environment", serve, k)
		if k == "SNOWFALL_PORT" || k == "SNOWFALL_HOST" {
			continue // the test listens on a loopback port of its choice
		}
		env = append(env, k+"="+strings.ReplaceAll(v, "%S", stateRoot))
	}
	env = append(env, "SNOWFALL_HOST=127.0.0.1", "SNOWFALL_PORT=0")

	// The database URL, a secret, comes from an optional EnvironmentFile, never from the unit.
	if ef := kv["EnvironmentFile"]; len(ef) != 1 || !strings.HasPrefix(ef[0], "-/etc/") {
		t.Errorf("EnvironmentFile=%q, want one optional file under /etc (-/etc/…) for SNOWFALL_DB", ef)
	}
	for _, e := range kv["Environment"] {
		if strings.HasPrefix(e, "SNOWFALL_DB=") {
			t.Errorf("Environment=%s: the database URL belongs in the EnvironmentFile", e)
		}
	}
	if _, ok := checkArgs(t, unit+" ExecStart", serve, words[2:])["db"]; ok {
		t.Errorf("ExecStart=%s: --db belongs in the EnvironmentFile (SNOWFALL_DB)", exec1[0])
	}
	// ExecStart runs the binary where the install instructions put it.
	if dest := installPath(t); words[0] != dest {
		t.Errorf("ExecStart runs %s; the install instructions put snowfall at %s", words[0], dest)
	}

	sa := lookTool(t, "systemd-analyze")
	dir := t.TempDir()
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	copyUnit := filepath.Join(dir, "snowfall.service")
	if err := os.WriteFile(copyUnit, []byte(strings.ReplaceAll(string(b), words[0], binary(t, "snowfall"))), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", copyUnit).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(sa, "security", "--offline=true", copyUnit).CombinedOutput()
	m := exposure.FindSubmatch(out)
	if err != nil || m == nil {
		t.Errorf("systemd-analyze security --offline=true: %v\n%s", err, out)
	} else if score, _ := strconv.ParseFloat(string(m[1]), 64); score > maxExposure {
		t.Errorf("systemd-analyze security: exposure %.1f, want at most %.1f:\n%s", score, maxExposure, out)
	} else {
		t.Logf("systemd-analyze security --offline=true: exposure %.1f (at most %.1f)", score, maxExposure)
	}

	u, stop := startCommand(t, "snowfall", env, words[1:]...)
	if code, body := cmdtest.Get(t, u+"/"); code != 200 {
		t.Errorf("GET /: %d %q", code, body)
	}
	if _, err := os.Stat(filepath.Join(stateRoot, "snowfall", "leases.db")); err != nil {
		t.Errorf("no lease database in the state directory (StateDirectory=snowfall under %%S): %v", err)
	}
	if log := stop(); !strings.Contains(log, `"msg":"lease released"`) {
		t.Errorf("no JSON 'lease released' record after SIGTERM:\n%s", log)
	}
}
