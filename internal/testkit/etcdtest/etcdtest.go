// Package etcdtest starts etcd members of a test's own (the etcd binary that .ci/etcd.sh
// installs), for tests that need a fresh cluster: authentication, TLS.
package etcdtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// StartMember starts a one-member etcd in dir, its clients served over scheme (http or https)
// with extra flags, and returns its client address and the path of its log. It is killed when the
// test ends.
func StartMember(t testing.TB, dir, scheme string, extra ...string) (client, logPath string) {
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

// StartAuth starts a one-member etcd over http with authentication on, user root with password,
// and returns its client address once it answers (within 60 s: under -race with the whole suite
// on 2 cores, 20 s was once not enough).
func StartAuth(t testing.TB, password string) string {
	t.Helper()
	client, logPath := StartMember(t, t.TempDir(), "http")
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if _, err := c.Get(ctx, "x"); err == nil {
			break
		} else if ctx.Err() != nil {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("etcd at %s does not answer: %v\nits log:\n%s", client, err, b)
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
