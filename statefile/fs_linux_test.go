package statefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall"
)

// TestUntrustedFS: a state file on a filesystem whose flock may not be a lock between every
// process that can open it (NFS, SMB, FUSE, 9p, Ceph, unknown) is refused unless the operator
// vouches for its locks; a local filesystem opens. The filesystem's type comes through the statfs
// seam (fsType): this machine has no NFS or FUSE mount.
func TestUntrustedFS(t *testing.T) {
	cases := []struct {
		name  string
		magic uint32
		ok    bool
	}{
		{"ext4", 0xEF53, true},
		{"xfs", 0x58465342, true},
		{"tmpfs", 0x01021994, true},
		{"nfs", 0x6969, false},
		{"fuse", 0x65735546, false},
		{"cifs", 0xFF534D42, false},
		{"9p", 0x01021997, false},
		{"ceph", 0x00C36400, false},
		{"unknown", 0x12345678, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, trust := range []bool{false, true} {
				path := filepath.Join(t.TempDir(), "state")
				st := Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead, TrustFSLocks: trust,
					fsType: func(*os.File) (uint32, error) { return tc.magic, nil }}
				s, err := Open(st)
				if err == nil {
					s.Close()
				}
				if tc.ok || trust {
					if err != nil {
						t.Errorf("trust %v: Open: %v, want it open", trust, err)
					}
					continue
				}
				if !errors.Is(err, ErrUntrustedFS) {
					t.Fatalf("Open on %s: %v, want ErrUntrustedFS", tc.name, err)
				}
				for _, want := range []string{path, tc.name, "--trust-fs-locks", "local disk"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name %q", err, want)
					}
				}
				if b, _ := os.ReadFile(path); len(b) != 0 {
					t.Errorf("refused, yet %d bytes written", len(b))
				}
			}
		})
	}
	t.Run("statfs fails", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "state")
		s, err := Open(Settings{Path: path, Node: snowfall.Node{Generator: 5}, Ahead: testAhead,
			fsType: func(*os.File) (uint32, error) { return 0, errors.ErrUnsupported }})
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded without knowing the filesystem")
		}
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "statfs") {
			t.Errorf("Open: %v, want the statfs error", err)
		}
	})
	t.Run("this machine", func(t *testing.T) { // t.TempDir is on a local disk here
		magic, err := statfsType(mustOpen(t, filepath.Join(t.TempDir(), "f")))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := localFS[magic]; !ok {
			t.Skipf("TMPDIR is on a filesystem of magic %#x, not a local one", magic)
		}
		open(t, filepath.Join(t.TempDir(), "state"), nil).Close()
	})
}

func mustOpen(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
