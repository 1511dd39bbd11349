// Package buildinfo tells which build of Snowfall is running: the module version, the VCS revision
// and commit time, and the Go version, from the build information the Go toolchain embeds
// (runtime/debug.ReadBuildInfo). `go install …@vX.Y.Z` records the version; a build inside a git
// checkout records the revision unless -buildvcs=false. Release builds, which may use
// -buildvcs=false or build outside a checkout, stamp the same facts with -ldflags -X:
//
//	go build -ldflags "-X github.com/snowfall-go/snowfall/internal/buildinfo.version=v1.2.3
//	  -X github.com/snowfall-go/snowfall/internal/buildinfo.revision=$(git rev-parse HEAD)
//	  -X github.com/snowfall-go/snowfall/internal/buildinfo.commitTime=2026-12-01T00:00:00Z" ./cmd/snowfall
//
// A stamped value beats the embedded one.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped with -ldflags -X at link time; empty otherwise.
var (
	version    string
	revision   string
	commitTime string
)

// Info describes one build.
type Info struct {
	Module    string // module path, github.com/snowfall-go/snowfall
	Version   string // vX.Y.Z, a pseudo-version, or "(devel)"
	Revision  string // VCS revision, "" when unknown
	Time      string // VCS commit time (RFC 3339), "" when unknown
	Modified  bool   // the working tree had uncommitted changes
	GoVersion string // the Go toolchain, go1.x.y
	Platform  string // GOOS/GOARCH of the running program
}

// Read returns the running program's build information, with the -ldflags -X stamps applied.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return FromBuildInfo(bi, version, revision, commitTime)
}

// FromBuildInfo returns the Info in bi (which may be nil), with the non-empty stamps v (version),
// rev (revision) and t (commit time) taking precedence over what bi records.
func FromBuildInfo(bi *debug.BuildInfo, v, rev, t string) Info {
	in := Info{Module: "github.com/snowfall-go/snowfall", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.Main.Path != "" {
			in.Module = bi.Main.Path
		}
		in.Version = bi.Main.Version
		if bi.GoVersion != "" {
			in.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.Time = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if v != "" {
		in.Version = v
	}
	if rev != "" {
		in.Revision, in.Modified = rev, false
	}
	if t != "" {
		in.Time = t
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	return in
}

// String formats the Info as one line after the command's name:
//
//	snowfall v1.2.3 (revision 0123abc…, 2026-12-01T00:00:00Z) go1.26.8 linux/amd64
func (in Info) String() string {
	var b strings.Builder
	b.WriteString(in.Version)
	var vcs []string
	if in.Revision != "" {
		r := "revision " + in.Revision
		if in.Modified {
			r += " (modified)"
		}
		vcs = append(vcs, r)
	}
	if in.Time != "" {
		vcs = append(vcs, in.Time)
	}
	if len(vcs) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(vcs, ", "))
	}
	fmt.Fprintf(&b, " %s %s", in.GoVersion, in.Platform)
	return b.String()
}
