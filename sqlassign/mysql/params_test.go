package mysql

import (
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestSessionVariables (red team: the URL check refused only lower-case password, passwd and pass
// parameters; ?Password=… reached the server as SET Password=…, which could change the user's
// password): no query parameter of a URL sets a session variable the project did not intend. The
// check is on the DSN the driver gets: every parameter it would send as SET is one of
// sessionVariables, whatever the case or escaping of its name, and clientFoundRows stays on.
func TestSessionVariables(t *testing.T) {
	for _, c := range []struct {
		query string
		ok    bool
	}{
		{"", true},
		{"tls=skip-verify", true},
		{"sql_mode=x", true},
		{"SQL_MODE=x", true},
		{"time_zone=%27%2B00:00%27", true},
		{"timeout=2s&readTimeout=3s", true},
		{"charset=utf8mb4", true},
		{"password=s3cr", false},
		{"Password=s3cr", false},
		{"PASSWD=s3cr", false},
		{"Pass=s3cr", false},
		{"pass%77ord=s3cr", false},
		{"old_password=s3cr", false},
		{"autocommit=0", false},
		{"transaction_isolation=READ-UNCOMMITTED", false},
		{"foreign_key_checks=0", false},
		{"allowAllFiles=true", false}, // a server could read any file of this process
		{"allowAllFiles=false", true},
		{"allowCleartextPasswords=true", false}, // refused as a parameter naming a password
		{"allowCleartextPasswords=true&tls=true", false},
		{"multiStatements=true", false},
		{"timestamp=4000000000", false}, // the session's clock, frozen in 2096: every live lease looks expired
		{"TIMESTAMP=1", false},
		{"Timeout=2s", false}, // not the driver's option: a SET
		{"clientFoundRows=false", false},
		{"x%26password=s3cr", false},
		{"sql_mode%3Dx%26password=s3cr", false},
	} {
		dsn, err := dsnOf(t, "mysql://u:pw@h:3306/db?"+c.query)
		if (err == nil) != c.ok {
			t.Errorf("?%s: DSN %q, error %v; want accepted %v", c.query, dsn, err, c.ok)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), "s3cr") {
				t.Errorf("?%s: error %q shows the value", c.query, err)
			}
			continue
		}
		cfg, perr := mysql.ParseDSN(dsn)
		if perr != nil {
			t.Fatalf("?%s: the driver cannot parse DSN %q: %v", c.query, dsn, perr)
		}
		for k := range cfg.Params {
			if !sessionVariables[strings.ToLower(k)] {
				t.Errorf("?%s: the driver would SET %s", c.query, k)
			}
		}
		if !cfg.ClientFoundRows {
			t.Errorf("?%s: clientFoundRows off", c.query)
		}
	}
}

func dsnOf(t *testing.T, raw string) (string, error) {
	t.Helper()
	tg, err := parseURL(raw)
	return tg.DSN, err
}
