package fleet

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// etcdCluster is a three-member etcd cluster of the test's own (the etcd binary comes from
// .ci/etcd.sh), so that its members can be killed and restarted without disturbing the shared
// test cluster other packages use.
type etcdCluster struct {
	t       *testing.T
	dir     string
	clients []string // host:port
	peers   []string
	procs   []*exec.Cmd
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// startEtcd starts the cluster and waits until it has a leader. It is stopped at cleanup.
func startEtcd(t *testing.T) *etcdCluster {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("no etcd binary (.ci/etcd.sh installs Debian's etcd-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "snowfall-fleet-etcd-")
	if err != nil {
		t.Fatal(err)
	}
	ports := freePorts(t, 6)
	c := &etcdCluster{t: t, dir: dir, clients: ports[:3], peers: ports[3:], procs: make([]*exec.Cmd, 3)}
	t.Cleanup(func() {
		for i := range c.procs {
			c.stop(i, syscall.SIGKILL)
		}
		if t.Failed() {
			t.Logf("etcd members' data and logs kept in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	for i := range 3 {
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.leader(ctx); err != nil {
		t.Fatalf("etcd cluster in %s: %v", dir, err)
	}
	return c
}

// URL returns the cluster's etcd:// URL with prefix.
func (c *etcdCluster) URL(prefix string) string {
	return "etcd://" + strings.Join(c.clients, ",") + "/" + prefix
}

func (c *etcdCluster) start(i int) error {
	var initial []string
	for j, p := range c.peers {
		initial = append(initial, fmt.Sprintf("m%d=http://%s", j, p))
	}
	log, err := os.OpenFile(filepath.Join(c.dir, fmt.Sprintf("m%d.log", i)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("etcd", "--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(c.dir, fmt.Sprintf("m%d", i)),
		"--listen-client-urls", "http://"+c.clients[i], "--advertise-client-urls", "http://"+c.clients[i],
		"--listen-peer-urls", "http://"+c.peers[i], "--initial-advertise-peer-urls", "http://"+c.peers[i],
		"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
		"--initial-cluster-token", filepath.Base(c.dir),
		"--heartbeat-interval", "100", "--election-timeout", "1000", "--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start etcd member %d: %w", i, err)
	}
	c.procs[i] = cmd
	return nil
}

// stop sends sig to member i and waits for it to exit.
func (c *etcdCluster) stop(i int, sig syscall.Signal) {
	if p := c.procs[i]; p != nil {
		p.Process.Signal(sig)
		p.Wait()
		c.procs[i] = nil
	}
}

// version returns the etcd server version of the first member that answers.
func (c *etcdCluster) version(ctx context.Context) (string, error) {
	cl, err := clientv3.New(clientv3.Config{Endpoints: c.clients, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return "", err
	}
	defer cl.Close()
	var last error
	for _, ep := range c.clients {
		st, err := cl.Status(ctx, ep)
		if err == nil {
			return st.Version, nil
		}
		last = err
	}
	return "", fmt.Errorf("etcd version: %w", last)
}

// leader returns the index of the member that leads, waiting for one.
func (c *etcdCluster) leader(ctx context.Context) (int, error) {
	cl, err := clientv3.New(clientv3.Config{Endpoints: c.clients, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return -1, err
	}
	defer cl.Close()
	var last error
	for {
		for i, ep := range c.clients {
			if c.procs[i] == nil {
				continue
			}
			sctx, cancel := context.WithTimeout(ctx, time.Second)
			st, err := cl.Status(sctx, ep)
			cancel()
			if err != nil {
				last = err
				continue
			}
			if st.Leader != 0 && st.Leader == st.Header.MemberId {
				return i, nil
			}
		}
		select {
		case <-ctx.Done():
			return -1, fmt.Errorf("no etcd leader: %v", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Etcd fault kinds, as counted in the summary.
const (
	EtcdLeaderKill = "etcd_leader_kill" // SIGKILL the etcd leader; another is elected; restart it
	EtcdRestart    = "etcd_restart"     // SIGTERM a follower and start it again on its data
)

// injectEtcd kills the leader (and waits for a new one before restarting the old), then restarts a
// follower, rounds times, settling between faults.
func (c *etcdCluster) injectEtcd(ctx context.Context, logf func(string, ...any), rounds int, settle time.Duration, done map[string]int) error {
	for range rounds {
		lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		l, err := c.leader(lctx)
		cancel()
		if err != nil {
			return err
		}
		logf("etcd: SIGKILL to the leader, member %d", l)
		c.stop(l, syscall.SIGKILL)
		lctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		nl, err := c.leader(lctx)
		cancel()
		if err != nil {
			return fmt.Errorf("after killing the leader: %w", err)
		}
		logf("etcd: member %d leads", nl)
		if err := c.start(l); err != nil {
			return err
		}
		done[EtcdLeaderKill]++
		sleep(ctx, settle)
		f := (nl + 1) % 3
		logf("etcd: restart of member %d (a follower)", f)
		c.stop(f, syscall.SIGTERM)
		sleep(ctx, settle/2)
		if err := c.start(f); err != nil {
			return err
		}
		done[EtcdRestart]++
		sleep(ctx, settle)
	}
	return nil
}
