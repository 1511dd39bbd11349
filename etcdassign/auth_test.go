package etcdassign_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// startMember starts a one-member etcd of the test's own (the binary from .ci/etcd.sh) in dir,
// its clients served over scheme (http or https) with extra flags, and returns its client address
// and the path of its log. It is killed when the test ends.
func startMember(t *testing.T, dir, scheme string, extra ...string) (client, logPath string) {
	t.Helper()
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	client, peer := addrs[0], addrs[1]
	logPath = filepath.Join(dir, "etcd.log")
	log, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("etcd", append([]string{"--name", "a", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", scheme + "://" + client, "--advertise-client-urls", scheme + "://" + client,
		"--listen-peer-urls", "http://" + peer, "--initial-advertise-peer-urls", "http://" + peer,
		"--initial-cluster", "a=http://" + peer, "--log-level", "warn"}, extra...)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd (.ci/etcd.sh installs it): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return client, logPath
}

// startAuthEtcd starts a one-member etcd of the test's own (the binary from .ci/etcd.sh) with
// authentication on, user root with password, and returns its client address.
func startAuthEtcd(t *testing.T, password string) string {
	t.Helper()
	client, logPath := startMember(t, t.TempDir(), "http")
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for {
		if _, err := c.Get(ctx, "x"); err == nil {
			break
		} else if ctx.Err() != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("etcd at %s does not answer: %v\n%s", client, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.RoleAdd(ctx, "root") // exists already in some versions
	for _, step := range []func() error{
		func() error { _, err := c.UserAdd(ctx, "root", password); return err },
		func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := c.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("enable authentication: %v", err)
		}
	}
	return client
}

// TestAuthentication: a user and password in the URL authenticate; a wrong password fails at Open
// with an error that shows neither password.
func TestAuthentication(t *testing.T) {
	addr := startAuthEtcd(t, "s3cret-pw")
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
