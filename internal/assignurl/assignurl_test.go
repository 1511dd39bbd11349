package assignurl

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
)

func etcdURL() string {
	ep := os.Getenv("SNOWFALL_TEST_ETCD")
	if ep == "" {
		ep = "127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793"
	}
	return "etcd://" + ep + "/snowfall-assignurl-test"
}

// TestOpen: an etcd:// URL opens etcdassign, any other sqlassign; both hold a lease.
func TestOpen(t *testing.T) {
	for _, tc := range []struct{ name, url, describe string }{
		{"sqlite", "sqlite://" + filepath.Join(t.TempDir(), "l.db"), "snowfall_t1_properties and snowfall_t1_manifest"},
		{"etcd", etcdURL(), "etcd keys under /snowfall-assignurl-test/t1/"},
		{"etcd upper-case scheme", strings.Replace(etcdURL(), "etcd:", "ETCD:", 1), "etcd keys under /snowfall-assignurl-test/t1/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.url, "t1"); err != nil {
				t.Fatalf("Check: %v", err)
			}
			s, err := Open(t.Context(), tc.url, "t1")
			if err != nil {
				t.Fatalf("Open: %v (start the services with .ci/services.sh)", err)
			}
			defer s.Close()
			if e, ok := s.(*etcdassign.Assigner); ok {
				defer e.Drop(context.Background())
			}
			if got := Describe(s); got != tc.describe {
				t.Errorf("Describe: got %q, want %q", got, tc.describe)
			}
			l, err := snowfall.NewLeased(t.Context(), s, snowfall.LeaseSettings{Probe: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Next(); err != nil {
				t.Error(err)
			}
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCheckAndRedact(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"etcd://h:1/p?nope=1", `unknown parameter "nope"`},
		{"etcd://h/p", "not host:port"},
		{"oracle://h/p", `unknown scheme "oracle"`},
	} {
		if err := Check(tc.url, ""); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%q): got %v, want %q", tc.url, err, tc.want)
		}
	}
	if got := Redact("etcd://u:hunter2@a:1,b:2/p"); strings.Contains(got, "hunter2") {
		t.Errorf("Redact: %q holds the password", got)
	}
}
