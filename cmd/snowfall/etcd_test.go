package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/etcdassign"
)

// etcdTestURL is the test cluster (.ci/etcd.sh starts it), under a prefix of the CLI's tests.
func etcdTestURL() string {
	ep := os.Getenv("SNOWFALL_TEST_ETCD")
	if ep == "" {
		ep = "127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793"
	}
	return "etcd://" + ep + "/snowfall-cli-test"
}

// TestEtcdSchemaAndLeases: schema create and leases take an etcd:// URL like a SQL one.
func TestEtcdSchemaAndLeases(t *testing.T) {
	var b [5]byte
	rand.Read(b[:])
	g := "t" + hex.EncodeToString(b[:])
	db := etcdTestURL()
	a, err := etcdassign.Open(t.Context(), db, etcdassign.Options{Group: g})
	if err != nil {
		t.Fatalf("%v (start the cluster with .ci/etcd.sh)", err)
	}
	defer a.Close()
	defer a.Drop(context.Background())
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"create", []string{"schema", "create", "--db", db, "--group", g, "--probe", "2s"}, 0,
			"etcd keys under /snowfall-cli-test/" + g + "/ ready: layout snowfall (time=40,seq=12,gen=11", ""},
		{"other layout", []string{"schema", "create", "--db", db, "--group", g, "--layout", "twitter"}, 1, "",
			"but the manifest records time=40,seq=12,gen=11"},
		{"leases empty", []string{"leases", "--db", db, "--group", g}, 0, "GENERATOR", "0 generator ids held"},
		{"bad endpoint", []string{"leases", "--db", "etcd://u:hunter2@127.0.0.1:99999/x"}, 2, "", "out of range [1, 65535]"},
		{"unknown parameter", []string{"leases", "--db", "etcd://u:hunter2@127.0.0.1:2379/x?sslmode=on"}, 2, "", "a parameter is not one of tls"},
		{"unreachable", []string{"leases", "--db", "etcd://u:hunter2@127.0.0.1:1/x?dial-timeout=500ms"}, 1, "", "127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, "", nil, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, %q in stdout, %q in stderr",
					tc.args, code, out, errs, tc.code, tc.out, tc.err)
			}
			if strings.Contains(out+errs, "hunter2") {
				t.Errorf("%v: the password is printed: stdout %q, stderr %q", tc.args, out, errs)
			}
		})
	}
	l, err := snowfall.NewLeased(t.Context(), a, snowfall.LeaseSettings{Holder: snowfall.Holder{Host: "web-7", PID: 4242}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, out, errs := runCmd(t, "", nil, "leases", "--db", db, "--group", g)
	if code != 0 || !strings.Contains(out, "web-7") || !strings.Contains(out, "4242") || !strings.Contains(errs, "1 generator ids held") {
		t.Errorf("leases: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
