package main

import (
	"strings"
	"testing"
)

// TestDBCommandsRedactPassword: leases and schema create, like serve, never show the database
// password in what they print, whatever goes wrong: an unreachable database (a closed port), a
// bad flag next to --db, a bad group, or the URL given as an argument instead of with --db.
func TestDBCommandsRedactPassword(t *testing.T) {
	const secret = "s3cr3tpw"
	dbs := map[string]string{
		"userinfo":  "postgres://u:" + secret + "@127.0.0.1:1/db?sslmode=disable",
		"query":     "postgres://u@127.0.0.1:1/db?sslmode=disable&password=" + secret,
		"mysql":     "mysql://u:" + secret + "@127.0.0.1:1/db",
		"key=value": "host=127.0.0.1 port=1 user=u password=" + secret + " dbname=db",
	}
	for form, db := range dbs {
		for _, c := range []struct {
			name string
			args []string
			code int
		}{
			{"leases closed port", []string{"leases", "--db", db, "--db-timeout", "2s"}, 1},
			{"schema create closed port", []string{"schema", "create", "--db", db, "--db-timeout", "2s"}, 1},
			{"leases bad timeout", []string{"leases", "--db", db, "--db-timeout", "1ns"}, 2},
			{"schema create bad layout", []string{"schema", "create", "--db", db, "--layout", "nope"}, 2},
			{"leases bad group", []string{"leases", "--db", db, "--group", "no-dashes"}, 2},
			{"leases extra argument", []string{"leases", "--db", db, "extra"}, 2},
			{"leases db from env", []string{"leases", "--db-timeout", "2s", "--group", "no-dashes"}, 2},
			{"leases URL without --db", []string{"leases", "--db", "sqlite:///nonexistent/x.db", db}, 2},
			{"schema create URL without --db", []string{"schema", "create", db}, 2},
		} {
			t.Run(c.name+" "+form, func(t *testing.T) {
				env := map[string]string{}
				if !strings.Contains(strings.Join(c.args, " "), db) {
					env["SNOWFALL_DB"] = db
				}
				code, out, errs := runCmd(t, "", env, c.args...)
				if code != c.code {
					t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, errs)
				}
				if strings.Contains(out+errs, secret) {
					t.Errorf("%v: the password shows: stdout %q, stderr %q", c.args, out, errs)
				}
			})
		}
	}
}
