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
			u, err := Parse(tc.url)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := Check(u, "t1"); err != nil {
				t.Fatalf("Check: %v", err)
			}
			s, err := Open(t.Context(), u, "t1")
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

// TestParse: Parse shows a URL without its password, and refuses one that does not parse without
// quoting it.
func TestParse(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"etcd://u:hunter2@a:1,b:2/p", "etcd://u:xxxxx@a:1,b:2/p"},
		{"postgres://u:hunter2@h:5432/db?sslmode=disable&password=hunter2", "postgres://u:xxxxx@h:5432/db?sslmode=disable&password=xxxxx"},
		{"mysql://u:hunter2@h/db", "mysql://u:xxxxx@h/db"},
		{"sqlite:///tmp/x.db?_pragma=key('hunter2')", "sqlite:///tmp/x.db"},
		{"host=h password=hunter2 dbname=db", "host=h port=5432 user="},
	} {
		u, err := Parse(tc.url)
		if err != nil {
			t.Errorf("Parse: %v", err)
			continue
		}
		if got := u.String(); !strings.HasPrefix(got, tc.want) || strings.Contains(got, "hunter2") {
			t.Errorf("Parse(…).String() = %q, want %q…", got, tc.want)
		}
		if u.Raw() != tc.url {
			t.Errorf("Raw() = %q, want the URL as given", u.Raw())
		}
	}
	for _, tc := range []struct{ url, want string }{
		{"etcd://h:1/p?hunter2=1", `not one of tls`},
		{"etcd://h/p", "not host:port"},
		{"oracle://u:hunter2@h/p", `not a valid database URL (value hidden): its scheme is not`},
		{"postgres://u:hun/ter2@h/db", `not a valid database URL (value hidden)`},
	} {
		_, err := Parse(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse: got %v, want %q", err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter") || strings.Contains(err.Error(), "ter2")) {
			t.Errorf("Parse: error %q shows the password", err)
		}
	}
}
