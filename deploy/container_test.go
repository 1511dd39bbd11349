package deploy

import (
	"encoding/json"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks the Dockerfile's final stage against the real commands: FROM scratch, a
// non-root user, the volume holding the default lease database, the server listening on all
// interfaces on the port it exposes, SIGTERM, a health check on a probe path with real flags, and
// the build stage running deploy/container/rootfs.sh. .ci/container.sh builds the whole file with a
// local Go image, checks the image's size and contents, and runs it.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var final []string
	var buildRunsRootfs bool
	lines := strings.Split(strings.ReplaceAll(string(b), "\\\n", " "), "\n")
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "FROM ") {
			final = nil
		}
		if strings.HasPrefix(l, "RUN ") && strings.Contains(l, "deploy/container/rootfs.sh") {
			buildRunsRootfs = true
		}
		final = append(final, l)
	}
	if !buildRunsRootfs {
		t.Error("no build stage runs deploy/container/rootfs.sh")
	}
	if st, err := os.Stat("container/rootfs.sh"); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("deploy/container/rootfs.sh is missing or not executable: %v", err)
	}
	instr := map[string][]string{}
	for _, l := range final {
		k, v, _ := strings.Cut(l, " ")
		instr[k] = append(instr[k], strings.TrimSpace(v))
	}
	if got := instr["FROM"]; len(got) != 1 || got[0] != "scratch" {
		t.Errorf("final stage FROM %q, want scratch", got)
	}
	serve := flagsOf(t, "snowfall", "serve")
	probe := flagsOf(t, "snowfall", "probe")
	port := serve["port"].def

	if u := instr["USER"]; len(u) != 1 || strings.HasPrefix(u[0], "0") || strings.HasPrefix(u[0], "root") {
		t.Errorf("USER %q, want one non-root numeric user", u)
	}
	env := map[string]string{}
	for _, e := range instr["ENV"] {
		for _, kv := range strings.Fields(e) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				t.Errorf("ENV %q: want NAME=value pairs", e)
				continue
			}
			checkEnv(t, "Dockerfile ENV", serve, k)
			env[k] = v
		}
	}
	if env["SNOWFALL_HOST"] != "0.0.0.0" {
		t.Errorf("SNOWFALL_HOST %q, want 0.0.0.0: the server must listen on all interfaces in the container", env["SNOWFALL_HOST"])
	}
	vol := instr["VOLUME"]
	if len(vol) != 1 || vol[0] != "/var/lib/snowfall" {
		t.Errorf("VOLUME %q, want /var/lib/snowfall", vol)
	}
	if db := path.Join(env["XDG_STATE_HOME"], "snowfall"); db != "/var/lib/snowfall" {
		t.Errorf("XDG_STATE_HOME %q puts the default lease database in %s, not in the volume", env["XDG_STATE_HOME"], db)
	}
	if e := instr["EXPOSE"]; len(e) != 1 || e[0] != port {
		t.Errorf("EXPOSE %q, want the server's port %s", e, port)
	}
	if s := instr["STOPSIGNAL"]; len(s) != 1 || s[0] != "SIGTERM" {
		t.Errorf("STOPSIGNAL %q, want SIGTERM", s)
	}
	var entry, cmd, hc []string
	if len(instr["ENTRYPOINT"]) != 1 || json.Unmarshal([]byte(instr["ENTRYPOINT"][0]), &entry) != nil || len(entry) != 1 || entry[0] != "snowfall" {
		t.Errorf("ENTRYPOINT %q, want [\"snowfall\"]", instr["ENTRYPOINT"])
	}
	if len(instr["CMD"]) != 1 || json.Unmarshal([]byte(instr["CMD"][0]), &cmd) != nil || len(cmd) == 0 || cmd[0] != "serve" {
		t.Errorf("CMD %q, want [\"serve\", …]", instr["CMD"])
	} else {
		checkArgs(t, "Dockerfile CMD", serve, cmd[1:])
	}
	h := instr["HEALTHCHECK"]
	if len(h) != 1 {
		t.Fatalf("HEALTHCHECK %q, want one", h)
	}
	_, js, ok := strings.Cut(h[0], "CMD ")
	if !ok || json.Unmarshal([]byte(js), &hc) != nil || len(hc) < 3 || hc[0] != "snowfall" || hc[1] != "probe" {
		t.Fatalf("HEALTHCHECK %q, want CMD [\"snowfall\", \"probe\", …]", h[0])
	}
	given := checkArgs(t, "Dockerfile HEALTHCHECK", probe, hc[2:len(hc)-1])
	if p := hc[len(hc)-1]; !probePaths[p] {
		t.Errorf("HEALTHCHECK path %q is not a probe path of the server", p)
	}
	if u, err := url.Parse(given["server"]); err != nil || u.Port() != port {
		t.Errorf("HEALTHCHECK --server %q, want the server's port %s", given["server"], port)
	}
}

// TestImageBoundDocumented checks that docs/operations.md states the image size bound that
// .ci/container.sh enforces.
func TestImageBoundDocumented(t *testing.T) {
	sh, err := os.ReadFile("../.ci/container.sh")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	enforced := regexp.MustCompile(`(?m)^max_mib=(\d+)$`).FindSubmatch(sh)
	stated := regexp.MustCompile(`CI fails it above (\d+) MiB`).FindSubmatch(doc)
	if enforced == nil || stated == nil || string(enforced[1]) != string(stated[1]) {
		t.Errorf(".ci/container.sh enforces %q MiB, docs/operations.md states %q MiB: want one number in both", enforced, stated)
	}
}
