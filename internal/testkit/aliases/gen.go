package aliases

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/snowfall-go/snowfall/internal/testkit/testdb"
)

// The kinds of resource a case reaches through two spellings.
const (
	KindStateFile = "statefile" // --generator N --state-file PATH
	KindSQLite    = "sqlite"    // --db sqlite:… naming one file
	KindLocal     = "local"     // --db sqlite:… spelling a database no other process shares, twice
	KindPostgres  = "postgres"  // --db postgres://… or a keyword DSN
	KindMySQL     = "mysql"     // --db mysql://… or mariadb://…
)

// Env is what the generator may use on this machine.
type Env struct {
	// Bind: unshare -m works, so a server may run in a mount namespace of its own with a bind
	// mount.
	Bind bool
	// Postgres and MySQL are the test databases (testdb), with the directory of PostgreSQL's unix
	// socket and MySQL's socket when they exist.
	Postgres, MySQL             *url.URL
	PostgresSocket, MySQLSocket string
	// Vars is the environment every server gets: PostgreSQL's PG* defaults name a decoy, the
	// server's maintenance database "postgres", so that a spelling pgx reads as "use the
	// defaults" reaches a store of its own and shows, instead of failing to connect.
	Vars []string
}

// ProbeEnv finds what this machine offers.
func ProbeEnv() (Env, error) {
	var e Env
	e.Bind = exec.Command("unshare", "-m", "--propagation", "private", "true").Run() == nil
	var err error
	if e.Postgres, err = url.Parse(testdb.Postgres()); err != nil {
		return e, fmt.Errorf("aliases: SNOWFALL_TEST_POSTGRES: %w", err)
	}
	if e.MySQL, err = url.Parse(testdb.MySQL()); err != nil {
		return e, fmt.Errorf("aliases: SNOWFALL_TEST_MYSQL: %w", err)
	}
	port := e.Postgres.Port()
	if port == "" {
		port = "5432"
	}
	e.Vars = []string{"PGHOST=" + e.Postgres.Hostname(), "PGPORT=" + port, "PGUSER=" + e.Postgres.User.Username(),
		"PGDATABASE=postgres", "PGSSLMODE=disable"}
	if local(e.Postgres.Hostname()) {
		for _, d := range []string{"/var/run/postgresql", "/run/postgresql", "/tmp"} {
			if _, err := os.Stat(filepath.Join(d, ".s.PGSQL."+port)); err == nil {
				e.PostgresSocket = d
				break
			}
		}
	}
	if local(e.MySQL.Hostname()) {
		for _, s := range []string{"/run/mysqld/mysqld.sock", "/var/run/mysqld/mysqld.sock", "/tmp/mysql.sock"} {
			if _, err := os.Stat(s); err == nil {
				e.MySQLSocket = s
				break
			}
		}
	}
	return e, nil
}

func local(host string) bool { return host == "127.0.0.1" || host == "localhost" || host == "::1" }

// Server is one server's configuration in a case.
type Server struct {
	Args []string // after serve --host 127.0.0.1 --port 0
	Dir  string   // working directory; "" for the case's root
	Link [2]string
	Bind [2]string
	How  string // how it spells the resource
}

// Case is a pair of servers that reach one real resource through different spellings (or, for
// KindLocal, the same spelling of a database no other process shares).
type Case struct {
	Seed    uint64
	Kind    string
	Restart bool // B starts once A has stopped, with its clock set back to A's first ID
	A, B    Server
	Group   string   // the lease group of a database case
	Made    []string // the links the case made, for messages
	// Move, in a state file case without a restart, is what happens to the state file (File, its
	// real path) while A runs, before B starts on the path: one of the Move constants, or "".
	Move string
	File string
}

// What a case may do to A's state file while A runs (Case.Move). One real file, one lock: after
// any of these B holds another file than A, so A must stop at its recorded mark and B must start
// above anything A may still issue.
const (
	MoveRename      = "renamed away"
	MoveDelete      = "deleted"
	MoveEmpty       = "replaced by an empty file"
	MoveOlderCopy   = "replaced by an older copy of itself"
	MoveRenameOther = "renamed into another directory"
)

func (c *Case) String() string {
	s := fmt.Sprintf("seed %d %s", c.Seed, c.Kind)
	if c.Restart {
		s += " restart"
	}
	if c.Move != "" {
		s += ", state file " + c.Move + " while A runs"
	}
	return fmt.Sprintf("%s\n  A: %s (%s)\n  B: %s (%s)", s, show(c.A), c.A.How, show(c.B), c.B.How)
}

func show(s Server) string {
	out := strings.Join(s.Args, " ")
	if s.Dir != "" {
		out = "cd " + s.Dir + " && serve " + out
	}
	if s.Link[1] != "" {
		out += " [after ln " + s.Link[0] + " " + s.Link[1] + "]"
	}
	if s.Bind[1] != "" {
		out += " [in a mount namespace with " + s.Bind[0] + " bound on " + s.Bind[1] + "]"
	}
	return out
}

// NewCase generates the case of seed, making its files under root (an empty directory with no
// symbolic links in its path).
func NewCase(seed uint64, root string, e Env) (*Case, error) {
	r := rand.New(rand.NewPCG(seed, 0x61_6c_69_61_73))
	c := &Case{Seed: seed, Restart: r.IntN(3) == 0, Group: fmt.Sprintf("alias%d", seed%1_000_000_000)}
	kinds := []struct {
		kind   string
		weight int
	}{{KindStateFile, 4}, {KindSQLite, 3}, {KindLocal, 2}, {KindPostgres, 2}, {KindMySQL, 1}}
	n := r.IntN(12)
	for _, k := range kinds {
		if n < k.weight {
			c.Kind = k.kind
			break
		}
		n -= k.weight
	}
	finals := numFinals
	if !e.Bind {
		finals = finalBindDir
	}
	switch c.Kind {
	case KindStateFile, KindSQLite:
		t, err := newTree(r, root)
		if err != nil {
			return nil, err
		}
		name := t.name("gen") + ".state"
		if c.Kind == KindSQLite {
			name = t.name("leases") + ".db"
		}
		file := filepath.Join(t.dir(), name)
		a, err := t.spell(file, r.IntN(finalHardLink)) // the file may not exist before A
		if err != nil {
			return nil, err
		}
		bFinal := r.IntN(finals)
		if c.Kind == KindStateFile && !c.Restart {
			// Drawn from a generator of its own, so that the cases of other seeds stay as they were.
			m := rand.New(rand.NewPCG(seed, 0x6d_6f_76_65))
			if m.IntN(2) == 0 {
				c.Move = pick(m, MoveRename, MoveDelete, MoveEmpty, MoveOlderCopy, MoveRenameOther)
				c.File = file
				switch bFinal { // B opens whatever the path names when it starts
				case finalHardLink:
					bFinal = finalSymlink
				case finalBindFile:
					bFinal = finalBindDir
				}
			}
		}
		b, err := t.spell(file, bFinal)
		if err != nil {
			return nil, err
		}
		c.A, c.B = server(a), server(b)
		if c.Kind == KindStateFile {
			gen := strconv.Itoa(r.IntN(2048))
			c.A.Args = []string{"--generator", gen, "--state-file", a.path}
			c.B.Args = []string{"--generator", gen, "--state-file", b.path}
		} else {
			ua, ha := sqliteURL(r, a.path, a.dir == "")
			ub, hb := sqliteURL(r, b.path, b.dir == "")
			c.A.Args, c.B.Args = []string{"--db", ua}, []string{"--db", ub}
			c.A.How += ha
			c.B.How += hb
		}
		c.Made = t.log
	case KindLocal:
		u, how := localURL(r)
		c.A = Server{Args: []string{"--db", u}, How: how}
		c.B = c.A
	case KindPostgres:
		ua, ha := postgresURL(r, e)
		ub, hb := postgresURL(r, e)
		c.A = Server{Args: []string{"--db", ua}, How: ha}
		c.B = Server{Args: []string{"--db", ub}, How: hb}
	case KindMySQL:
		ua, ha := mysqlURL(r, e)
		ub, hb := mysqlURL(r, e)
		c.A = Server{Args: []string{"--db", ua}, How: ha}
		c.B = Server{Args: []string{"--db", ub}, How: hb}
	}
	if c.Kind != KindStateFile {
		for _, s := range []*Server{&c.A, &c.B} {
			s.Args = append(s.Args, "--group", c.Group)
		}
	}
	return c, nil
}

func server(sp spelling) Server {
	return Server{Dir: sp.dir, Link: sp.link, Bind: sp.bind, How: sp.how}
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// encode percent-encodes each byte of s for which keep is false with probability 1/n, in upper or
// lower case hexadecimal.
func encode(r *rand.Rand, s string, n int, keep func(byte) bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (keep != nil && keep(c)) || r.IntN(n) != 0 {
			b.WriteByte(c)
			continue
		}
		if r.IntN(2) == 0 {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// sqliteURL spells a sqlite: URL for path: the scheme's case and name, "//" or not before a
// relative path, percent-escapes in the path, and query parameters, harmless or not.
func sqliteURL(r *rand.Rand, path string, abs bool) (string, string) {
	scheme := pick(r, "sqlite", "sqlite3", "SQLITE", "Sqlite3")
	var hows []string
	if r.IntN(3) == 0 {
		path = encode(r, path, 4, nil)
		hows = append(hows, "escaped path")
	}
	u := scheme + "://" + path
	if !abs && r.IntN(2) == 0 {
		u = scheme + ":" + path
	}
	var q []string
	for range r.IntN(4) {
		// Harmless: the file is the same, shared as usual.
		p := pick(r, "_pragma=busy_timeout(5000)", "_txlock=immediate", "cache=private", "cache=shared",
			"mode=rwc", "psow=1", "_pragma=synchronous(FULL)", "_pragma=journal_mode(WAL)", "vfs=unix",
			"_time_format=sqlite")
		if r.IntN(5) == 0 {
			// Not shared, or not locked: Open must refuse these (or the second server must).
			// (locking_mode(EXCLUSIVE), and a journal mode other than the WAL the first server
			// set, are refused too, after the 10 s busy timeout: too slow here.)
			p = pick(r, "nolock=1", "vfs=unix-none", "vfs=unix-dotfile", "vfs=unix-excl", "mode=memory",
				"vfs=memdb", "immutable=1", "mode=ro")
		}
		if r.IntN(3) == 0 {
			p = encode(r, p, 3, func(c byte) bool { return c == '=' })
		}
		q = append(q, p)
	}
	if len(q) > 0 {
		u += "?" + strings.Join(q, "&")
		hows = append(hows, "?"+strings.Join(q, "&"))
	}
	if len(hows) == 0 {
		return u, ""
	}
	return u, "; " + strings.Join(hows, ", ")
}

// localURL spells a SQLite database that lives in one process or nowhere: ":memory:" escaped in
// any way, a path SQLite reads as empty (a temporary database), or a file with mode=memory or the
// memdb VFS, escaped in any way.
func localURL(r *rand.Rand) (string, string) {
	scheme := pick(r, "sqlite", "sqlite3", "SQLite")
	sep := pick(r, ":", "://")
	switch r.IntN(3) {
	case 0:
		u := scheme + sep + encode(r, ":memory:", 2, nil)
		if r.IntN(2) == 0 {
			u += "?" + pick(r, "cache=shared", "cache=private", "_txlock=immediate")
		}
		return u, "the in-memory database, escaped"
	case 1:
		return scheme + ":" + pick(r, "%00", "#", "#x", "%00.db", "?#"), "an empty file name: a temporary database"
	default:
		p := encode(r, pick(r, "mode=memory", "vfs=memdb"), 3, func(c byte) bool { return c == '=' })
		q := []string{p}
		if r.IntN(2) == 0 {
			q = append([]string{pick(r, "cache=shared", "_txlock=immediate", "psow=1")}, q...)
		}
		return scheme + sep + pick(r, "mem.db", "x", "./m.db") + "?" + strings.Join(q, "&"), "a file name with a memory option, escaped"
	}
}

// postgresURL spells the test PostgreSQL database: URL or keyword DSN, scheme case, host
// (127.0.0.1, localhost, its case, the unix socket), explicit or default port, escapes in the user
// and database names, and parameters, harmless or session-local (a search_path with pg_temp).
func postgresURL(r *rand.Rand, e Env) (string, string) {
	base := e.Postgres
	host, port := base.Hostname(), base.Port()
	if port == "" {
		port = "5432"
	}
	if local(host) {
		host = pick(r, "127.0.0.1", "localhost", "LOCALHOST", "LocalHost")
		if e.PostgresSocket != "" && r.IntN(4) == 0 {
			host = e.PostgresSocket
		}
	}
	user := base.User.Username()
	pass, _ := base.User.Password()
	db := strings.TrimPrefix(base.Path, "/")
	params := map[string]string{}
	for k, v := range base.Query() {
		params[k] = v[0]
	}
	for range r.IntN(3) {
		kv := pick(r,
			[2]string{"connect_timeout", "10"}, [2]string{"application_name", "aliases"},
			[2]string{"search_path", "public"}, [2]string{"search_path", `"$user",public`},
			[2]string{"target_session_attrs", "any"}, [2]string{"sslmode", "disable"},
			[2]string{"search_path", "pg_temp"}, [2]string{"search_path", "pg_temp,public"},
			[2]string{"options", "-c search_path=pg_temp"})
		params[kv[0]] = kv[1]
	}
	if strings.HasPrefix(host, "/") {
		delete(params, "sslmode")
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if r.IntN(3) == 0 {
		// A keyword DSN.
		parts := []string{"host=" + host, "user=" + user, "dbname=" + db}
		if r.IntN(2) == 0 || port != "5432" {
			parts = append(parts, "port="+port)
		}
		if pass != "" {
			parts = append(parts, "password="+pass)
		}
		for _, k := range keys {
			parts = append(parts, k+"='"+strings.ReplaceAll(params[k], "'", `\'`)+"'")
		}
		r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		return strings.Join(parts, " "), "keyword DSN"
	}
	scheme := pick(r, "postgres", "postgresql", "Postgres", "POSTGRESQL")
	userinfo := encode(r, user, 3, nil)
	if pass != "" {
		userinfo += ":" + url.PathEscape(pass)
	}
	q := url.Values{}
	for _, k := range keys {
		q.Set(k, params[k])
	}
	hostport := host
	if strings.HasPrefix(host, "/") {
		q.Set("host", host)
		hostport = ""
	} else if r.IntN(2) == 0 || port != "5432" {
		hostport += ":" + port
	}
	u := scheme + "://" + userinfo + "@" + hostport + "/" + encode(r, db, 3, nil)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, "URL"
}

// mysqlURL spells the test MySQL/MariaDB database: scheme and its case, host (127.0.0.1,
// localhost, the unix socket), explicit or default port, escapes in the names, and parameters,
// harmless or not (autocommit=0 keeps every write in a transaction no other session sees).
func mysqlURL(r *rand.Rand, e Env) (string, string) {
	base := e.MySQL
	host, port := base.Hostname(), base.Port()
	if port == "" {
		port = "3306"
	}
	how := "URL"
	hostport := host + ":" + port
	q := url.Values{}
	for k, v := range base.Query() {
		q.Set(k, v[0])
	}
	if local(host) {
		switch r.IntN(4) {
		case 0:
			hostport = "localhost:" + port
		case 1:
			if port == "3306" {
				hostport = pick(r, "127.0.0.1", "localhost")
			}
		case 2:
			if e.MySQLSocket != "" {
				hostport = ""
				q.Set("socket", e.MySQLSocket)
				how = "unix socket"
			}
		}
	}
	for range r.IntN(3) {
		kv := pick(r,
			[2]string{"timeout", "5s"}, [2]string{"parseTime", "true"}, [2]string{"charset", "utf8mb4"},
			[2]string{"interpolateParams", "true"}, [2]string{"autocommit", "1"}, [2]string{"autocommit", "0"},
			[2]string{"time_zone", "'+00:00'"}, [2]string{"transaction_isolation", "'READ-COMMITTED'"})
		q.Set(kv[0], kv[1])
	}
	scheme := pick(r, "mysql", "mariadb", "MySQL", "MARIADB")
	user := encode(r, base.User.Username(), 3, nil)
	if p, ok := base.User.Password(); ok {
		user += ":" + url.PathEscape(p)
	}
	u := scheme + "://" + user + "@" + hostport + "/" + encode(r, strings.TrimPrefix(base.Path, "/"), 3, nil)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u, how
}
