package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	installed := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/snowfall-go/snowfall", Version: "v1.2.3"},
	}
	local := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/snowfall-go/snowfall", Version: "v0.0.0-20261201230000-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-12-01T23:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	plat := " " + runtime.GOOS + "/" + runtime.GOARCH
	for _, c := range []struct {
		name         string
		bi           *debug.BuildInfo
		v, rev, when string
		want         string
	}{
		{"go install at a version", installed, "", "", "", "v1.2.3 go1.26.8" + plat},
		{"local build with VCS", local, "", "", "",
			"v0.0.0-20261201230000-0123456789ab+dirty (revision 0123456789abcdef (modified), 2026-12-01T23:00:00Z) go1.26.8" + plat},
		{"no VCS information", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/snowfall-go/snowfall", Version: "(devel)"}},
			"", "", "", "(devel) go1.26.8" + plat},
		{"stamps beat build info", local, "v2.0.0", "fedcba", "2027-01-01T00:00:00Z",
			"v2.0.0 (revision fedcba, 2027-01-01T00:00:00Z) go1.26.8" + plat},
		{"no build info", nil, "", "", "", "(devel) " + runtime.Version() + plat},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := FromBuildInfo(c.bi, c.v, c.rev, c.when).String(); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestCommands builds both commands, stamped with -ldflags -X and not, and checks what
// `snowfall version`, `snowfall --version` and `snowflake_start_server --version` print.
func TestCommands(t *testing.T) {
	dir := t.TempDir()
	const pkg = "github.com/snowfall-go/snowfall/internal/buildinfo"
	stamp := "-X " + pkg + ".version=v9.8.7 -X " + pkg + ".revision=abcdef0123 -X " + pkg + ".commitTime=2026-12-01T12:00:00Z"
	gover, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	plat := " " + strings.TrimSpace(string(gover)) + " " + runtime.GOOS + "/" + runtime.GOARCH
	build := func(cmd, out, ldflags string) string {
		t.Helper()
		exe := filepath.Join(dir, out)
		b, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", exe, "github.com/snowfall-go/snowfall/cmd/"+cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", cmd, err, b)
		}
		return exe
	}
	sf := build("snowfall", "snowfall-stamped", stamp)
	sss := build("snowflake_start_server", "sss-stamped", stamp)
	plain := build("snowfall", "snowfall-plain", "")
	for _, c := range []struct {
		name string
		exe  string
		args []string
		want string
	}{
		{"snowfall version", sf, []string{"version"}, "snowfall v9.8.7 (revision abcdef0123, 2026-12-01T12:00:00Z)" + plat},
		{"snowfall --version", sf, []string{"--version"}, "snowfall v9.8.7 (revision abcdef0123, 2026-12-01T12:00:00Z)" + plat},
		{"snowflake_start_server --version", sss, []string{"--version"}, "snowflake_start_server v9.8.7 (revision abcdef0123, 2026-12-01T12:00:00Z)" + plat},
		{"snowflake_start_server -version", sss, []string{"-version"}, "snowflake_start_server v9.8.7 (revision abcdef0123, 2026-12-01T12:00:00Z)" + plat},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(c.exe, c.args...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%v; stderr %s", err, stderr.String())
			}
			if got := strings.TrimSpace(string(out)); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
	// Unstamped: "(devel)", or a pseudo-version with the revision where the toolchain records VCS
	// information (not with GOFLAGS=-buildvcs=false).
	out, err := exec.Command(plain, "version").Output()
	if got := strings.TrimSpace(string(out)); err != nil || !strings.HasSuffix(got, plat) ||
		!(strings.HasPrefix(got, "snowfall (devel) ") || strings.HasPrefix(got, "snowfall v0.0.0-")) {
		t.Errorf("unstamped snowfall version: %q (%v), want snowfall (devel) or a pseudo-version, then%s", got, err, plat)
	}
	cmd := exec.Command(sf, "version", "extra")
	if err := cmd.Run(); cmd.ProcessState.ExitCode() != 2 {
		t.Errorf("snowfall version extra: %v, want exit 2", err)
	}
}
