package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

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
// a stop timeout longer than the server's grace, ExecStart and Environment made of real flags;
// systemd-analyze verify (where installed) finds nothing to say. Then it runs ExecStart with the
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
	checkArgs(t, unit+" ExecStart", serve, words[2:])
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

	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
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
