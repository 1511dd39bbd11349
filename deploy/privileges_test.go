package deploy

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
)

// docBlocks returns the code blocks of docs/operations.md in language lang, each as its lines.
func docBlocks(t *testing.T, lang string) [][]string {
	t.Helper()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var cur []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case !in && l == "```"+lang:
			in, cur = true, nil
		case in && l == "```":
			in = false
			out = append(out, cur)
		case in:
			cur = append(cur, l)
		}
	}
	return out
}

// docSQL returns the statements of the ```sql block of docs/operations.md whose first line is the
// comment "-- " + title.
func docSQL(t *testing.T, title string) []string {
	t.Helper()
	for _, b := range docBlocks(t, "sql") {
		if len(b) == 0 || !strings.HasPrefix(b[0], "-- "+title) {
			continue
		}
		var stmts []string
		for _, s := range strings.Split(strings.Join(b[1:], "\n"), ";") {
			if s = strings.TrimSpace(s); s != "" {
				stmts = append(stmts, s)
			}
		}
		return stmts
	}
	t.Fatalf("docs/operations.md has no sql block starting -- %s", title)
	return nil
}

// docCommands returns the commands of the ```sh blocks of docs/operations.md whose first word is
// one of first.
func docCommands(t *testing.T, first ...string) []string {
	t.Helper()
	var out []string
	for _, b := range docBlocks(t, "sh") {
		for _, l := range b {
			w, _, _ := strings.Cut(l, " ")
			for _, f := range first {
				if w == f {
					out = append(out, l)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("docs/operations.md has no %v command", first)
	}
	return out
}

// names are the stand-ins of a test for the docs' example names, each its own (roles and users
// are global to a database server that other tests share).
type docNames struct{ admin, user, db, group string }

func newNames() docNames {
	var b [4]byte
	rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return docNames{admin: "sfadmin_" + s, user: "sflease_" + s, db: "test_ops_" + s, group: "g" + s}
}

// apply replaces the docs' example names (snowfall_admin, snowfall, ids, orders) with n's.
func (n docNames) apply(s string) string {
	s = strings.ReplaceAll(s, "snowfall_orders_", "snowfall_"+n.group+"_")
	s = strings.ReplaceAll(s, "snowfall_admin", n.admin)
	s = regexp.MustCompile(`\bsnowfall\b`).ReplaceAllString(s, n.user)
	s = regexp.MustCompile(`\bids\b`).ReplaceAllString(s, n.db)
	return regexp.MustCompile(`\borders\b`).ReplaceAllString(s, n.group)
}

func execAll(t *testing.T, db *sql.DB, n docNames, stmts []string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(n.apply(s)); err != nil {
			t.Fatalf("%s: %v", n.apply(s), err)
		}
	}
}

func openSQL(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// runSnowfall runs a snowfall command to its end and returns its exit code and output.
func runSnowfall(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, binary(t, "snowfall"), args...)
	c.Env = baseEnv()
	out, err := c.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// leaseFleet runs what a lease user does, on db and group: two servers with a 1 s probe renew
// their leases and issue IDs, snowfall leases lists both, SIGTERM releases one and then the other,
// and snowfall leases raise-marks raises every mark.
func leaseFleet(t *testing.T, db, group string) {
	t.Helper()
	type srv struct {
		url  string
		stop func() string
	}
	var fleet []srv
	for range 2 {
		u, stop := startCommand(t, "snowfall", baseEnv(), "serve", "--host", "127.0.0.1", "--port", "0", "--db", db, "--group", group, "--probe", "1s")
		fleet = append(fleet, srv{u, stop})
	}
	for i, s := range fleet {
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, body := cmdtest.Get(t, s.url+"/stats")
			var st struct {
				Lease struct {
					State    string
					Renewals int64
				}
			}
			json.Unmarshal([]byte(body), &st)
			if code == 200 && st.Lease.State == "held" && st.Lease.Renewals >= 2 {
				break
			}
			if time.Now().After(deadline) {
				log := s.stop()
				t.Fatalf("server %d: no held, renewed lease after 30 s: %d %s\nits log (last 3000 bytes):\n%s", i, code, body, log[max(0, len(log)-3000):])
			}
			time.Sleep(100 * time.Millisecond)
		}
		if code, body := cmdtest.Get(t, s.url+"/"); code != 200 {
			t.Errorf("server %d: GET /: %d %q", i, code, body)
		}
	}
	if code, out := runSnowfall(t, "leases", "--db", db, "--group", group); code != 0 || !strings.Contains(out, "2 generator ids held") {
		t.Errorf("snowfall leases as the lease user: exit %d\n%s", code, out)
	}
	for i, s := range fleet {
		if log := s.stop(); !strings.Contains(log, "lease released") {
			t.Errorf("server %d: no 'lease released' after SIGTERM:\n%s", i, log)
		}
	}
	if code, out := runSnowfall(t, "leases", "--db", db, "--group", group); code != 0 || !strings.Contains(out, "0 generator ids held") {
		t.Errorf("snowfall leases after both released: exit %d\n%s", code, out)
	}
	if code, out := runSnowfall(t, "leases", "raise-marks", "--db", db, "--group", group, "--by", "30s"); code != 0 || !strings.Contains(out, "raised 2048 of 2048 marks") {
		t.Errorf("snowfall leases raise-marks as the lease user: exit %d\n%s", code, out)
	}
}

// TestLeastPrivilegePostgres runs the PostgreSQL statements of docs/operations.md ("Least
// privileges"): a database owned by an owner role, schema create as the owner, the grants, and
// then a fleet as the lease role, which may not create tables (checked first: it cannot even
// list leases before schema create).
func TestLeastPrivilegePostgres(t *testing.T) {
	n := newNames()
	super := openSQL(t, "pgx", testdb.Postgres())
	t.Cleanup(func() {
		super.Exec("DROP DATABASE IF EXISTS " + n.db + " WITH (FORCE)")
		super.Exec("DROP ROLE IF EXISTS " + n.user)
		super.Exec("DROP ROLE IF EXISTS " + n.admin)
	})
	execAll(t, super, n, docSQL(t, "PostgreSQL, as a superuser"))
	admin := fmt.Sprintf("postgres://%s:Jx7-Qv2K-p9Hn@127.0.0.1:5432/%s?sslmode=disable", n.admin, n.db)
	lease := fmt.Sprintf("postgres://%s:Wm4-Zr8T-b2Kq@127.0.0.1:5432/%s?sslmode=disable", n.user, n.db)

	if code, out := runSnowfall(t, "leases", "--db", lease, "--group", n.group); code != 1 || !strings.Contains(out, "permission denied (SQLSTATE 42501)") {
		t.Fatalf("the lease role before schema create: exit %d, want 1 and permission denied:\n%s", code, out)
	}
	if code, out := runSnowfall(t, "schema", "create", "--db", admin, "--group", n.group); code != 0 {
		t.Fatalf("schema create as the owner: exit %d\n%s", code, out)
	}
	execAll(t, openSQL(t, "pgx", admin), n, docSQL(t, "PostgreSQL, as snowfall_admin in database ids, after schema create"))
	if _, err := openSQL(t, "pgx", lease).Exec("CREATE TABLE snowfall_try (x int)"); err == nil {
		t.Fatal("the lease role can create tables: the test would prove nothing")
	}
	leaseFleet(t, lease, n.group)
}

// TestLeastPrivilegeMariaDB runs the MariaDB statements of docs/operations.md the same way.
func TestLeastPrivilegeMariaDB(t *testing.T) {
	n := newNames()
	root := openSQL(t, "mysql", "root@tcp(127.0.0.1:3306)/")
	t.Cleanup(func() {
		root.Exec("DROP DATABASE IF EXISTS " + n.db)
		root.Exec("DROP USER IF EXISTS '" + n.user + "'@'%'")
		root.Exec("DROP USER IF EXISTS '" + n.admin + "'@'%'")
	})
	execAll(t, root, n, docSQL(t, "MariaDB, as root: the database"))
	admin := fmt.Sprintf("mysql://%s:Jx7-Qv2K-p9Hn@127.0.0.1:3306/%s", n.admin, n.db)
	lease := fmt.Sprintf("mysql://%s:Wm4-Zr8T-b2Kq@127.0.0.1:3306/%s", n.user, n.db)
	if code, out := runSnowfall(t, "leases", "--db", lease, "--group", n.group); code != 1 || !strings.Contains(out, "denied") {
		t.Fatalf("the lease user before schema create: exit %d, want 1 and access denied:\n%s", code, out)
	}
	if code, out := runSnowfall(t, "schema", "create", "--db", admin, "--group", n.group); code != 0 {
		t.Fatalf("schema create as the owner: exit %d\n%s", code, out)
	}
	execAll(t, root, n, docSQL(t, "MariaDB, as root, after schema create"))
	leaseFleet(t, lease, n.group)
}

// TestLeastPrivilegeEtcd starts an etcd member of its own with authentication on, runs the
// etcdctl commands of docs/operations.md, and a fleet as the user they create, which may not read
// or write outside the group's prefix (checked).
func TestLeastPrivilegeEtcd(t *testing.T) {
	etcdctl := lookTool(t, "etcdctl")
	addr := startEtcdAuth(t, "root-secret")
	for _, c := range docCommands(t, "etcdctl") {
		cmd := exec.Command("bash", "-c", c)
		cmd.Env = baseEnv("ETCDCTL_API=3", "ETCDCTL_ENDPOINTS="+addr, "ETCDCTL_USER=root:root-secret", "ETCDCTL_DIAL_TIMEOUT=5s")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s (%s): %v\n%s", c, etcdctl, err, out)
		}
	}
	lease := "etcd://snowfall:Wm4-Zr8T-b2Kq@" + addr + "/snowfall"
	if code, out := runSnowfall(t, "schema", "create", "--db", lease, "--group", "orders", "--probe", "1s"); code != 0 {
		t.Fatalf("schema create as the etcd user: exit %d\n%s", code, out)
	}
	if code, out := runSnowfall(t, "schema", "create", "--db", lease, "--group", "other"); code != 1 || !strings.Contains(out, "permission denied") {
		t.Fatalf("the etcd user outside its prefix: exit %d, want 1 and permission denied:\n%s", code, out)
	}
	leaseFleet(t, lease, "orders")
}

// startEtcdAuth starts a one-member etcd (Debian's, from .ci/etcd.sh) with user root and
// authentication on, killed when the test ends; it returns its client address.
func startEtcdAuth(t *testing.T, rootPassword string) string {
	t.Helper()
	var addrs []string
	for range 2 {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	}
	client, peer := addrs[0], addrs[1]
	dir := t.TempDir()
	cmd := exec.Command("etcd", "--name", "a", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "a=http://"+peer, "--log-level", "warn")
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start etcd (.ci/etcd.sh installs it): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{client}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if _, err := c.Get(ctx, "x"); err == nil {
			break
		} else if ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd at %s does not answer: %v\n%s", client, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.RoleAdd(ctx, "root")
	for _, step := range []func() error{
		func() error { _, err := c.UserAdd(ctx, "root", rootPassword); return err },
		func() error { _, err := c.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := c.AuthEnable(ctx); return err },
	} {
		if err := step(); err != nil {
			t.Fatalf("enable authentication: %v", err)
		}
	}
	return client
}

// TestBackupRestore runs the PostgreSQL backup and restore commands of docs/operations.md on a
// group of its own: it dumps the group, lets a server advance the marks and issue IDs, restores
// the dump (the marks go back: the rollback the docs warn about), raises the marks with snowfall
// leases raise-marks, and checks that the next claim's floor is above every ID issued.
func TestBackupRestore(t *testing.T) {
	g := group(t)
	n := docNames{admin: "snowfall_admin", user: "snowfall", db: "ids", group: g}
	pg := testdb.Postgres()
	dir := t.TempDir()
	cmds := docCommands(t, "pg_dump", "psql")
	if len(cmds) != 2 {
		t.Fatalf("backup and restore commands %q, want pg_dump then psql", cmds)
	}
	run := func(c string) {
		t.Helper()
		c = strings.ReplaceAll(n.apply(c), "'postgres://postgres@db:5432/"+n.db+"'", "'"+pg+"'")
		cmd := exec.Command("bash", "-c", c)
		cmd.Dir, cmd.Env = dir, baseEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
	}
	if code, out := runSnowfall(t, "schema", "create", "--db", pg, "--group", g, "--probe", "1s"); code != 0 {
		t.Fatalf("schema create: exit %d\n%s", code, out)
	}
	run(cmds[0]) // the backup: every mark zero

	u, stop := startCommand(t, "snowfall", baseEnv(), "serve", "--host", "127.0.0.1", "--port", "0", "--db", pg, "--group", g, "--probe", "1s")
	var last snowfall.ID
	for range 20 {
		code, body := cmdtest.Get(t, u+"/")
		id, err := snowfall.ParseID(strings.TrimSpace(body))
		if code != 200 || err != nil {
			t.Fatalf("GET /: %d %q", code, body)
		}
		last = max(last, id)
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	d, err := snowfall.DefaultLayout().Decode(last)
	if err != nil {
		t.Fatal(err)
	}
	lastTime := d.Time

	run(cmds[1]) // the restore: the marks go back
	ctx := context.Background()
	a, err := sqlassign.Open(ctx, pg, sqlassign.Options{Group: g})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ch, err := a.RaiseMarks(ctx, snowfall.RaiseRequest{Size: 2048, To: time.Now().Add(time.Hour), Force: true, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ch {
		if !c.Old.IsZero() {
			t.Fatalf("after the restore, generator %d has mark %v: the dump was taken before any claim", c.ID, c.Old)
		}
	}
	if code, out := runSnowfall(t, "leases", "raise-marks", "--db", pg, "--group", g, "--by", "3s"); code != 0 {
		t.Fatalf("raise-marks after the restore: exit %d\n%s", code, out)
	}
	c, err := leasetest.ClaimFirst(ctx, a, 2048, snowfall.ClaimRequest{Token: "after-restore", Lease: time.Minute, Now: time.Now(), Ahead: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Prev.After(lastTime) {
		t.Errorf("the claim after restore and raise has floor %v, not above the last ID issued before the restore (%v)", c.Prev, lastTime)
	}
}
