package etcdassign_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	"github.com/snowfall-go/snowfall/internal/testkit/etcdtest"
)

// TestAuthentication: a user and password in the URL authenticate; a wrong password fails at Open
// with an error that shows neither password.
func TestAuthentication(t *testing.T) {
	addr := etcdtest.StartAuth(t, "s3cret-pw")
	u := fmt.Sprintf("etcd://root:s3cret-pw@%s/auth", addr)
	a, err := etcdassign.Open(t.Context(), u, etcdassign.Options{})
	if err != nil {
		t.Fatalf("Open with the right password: %v", err)
	}
	defer a.Close()
	l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Probe: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1200 * time.Millisecond)
	if st := l.Lease(); st.Renewals == 0 || st.State != "held" {
		t.Errorf("after 2.4 probes: %+v, want renewals and held", st)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for i, bad := range []string{
		fmt.Sprintf("etcd://root:wr0ng-pw@%s/auth?dial-timeout=2s", addr),
		fmt.Sprintf("etcd://%s/auth?dial-timeout=2s", addr), // no user: permission denied
	} {
		a, err := etcdassign.Open(t.Context(), bad, etcdassign.Options{})
		if err == nil {
			a.Close()
			t.Errorf("Open(%d): no error", i)
			continue
		}
		if strings.Contains(err.Error(), "wr0ng-pw") || strings.Contains(err.Error(), "s3cret-pw") {
			t.Errorf("error %q shows a password", err)
		}
		if !strings.Contains(err.Error(), "etcd://root:xxxxx@") && !strings.Contains(err.Error(), "etcd://"+addr) {
			t.Errorf("error %q does not name the URL", err)
		}
		t.Logf("%d: %v", i, err)
	}
}
