// Package postgres lets sqlassign.Open and sqlassign.CheckURL accept PostgreSQL URLs
// (postgres://user:pass@host:port/db?sslmode=disable, postgresql://…, a unix socket as
// postgres:///db?host=/var/run/postgresql) and keyword/value DSNs (host=/var/run/postgresql
// dbname=db), through pgx's database/sql driver. Import it for its side effect:
//
//	import _ "github.com/snowfall-go/snowfall/sqlassign/postgres"
//
// Keywords and parameters are PostgreSQL's connection parameters (libpq's, lower case) and a few
// session settings (application_name, search_path, options, timezone, statement_timeout,
// lock_timeout; the DSN then sets search_path to pg_catalog: see pinSearchPath); others are refused, so that a typo (Host=) or the piece of a password split by
// an unquoted space or an unescaped '&' is not sent to the server as a setting. Messages show a
// URL as scheme://user:xxxxx@host:port/db with only the parameters that hold no secret, and a
// keyword/value DSN as host=… port=… user=… dbname=…; they never quote what does not parse.
//
// A program that imports only this driver package does not link SQLite or MySQL.
package postgres

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/sqlassign/internal/drivers"
)

func init() { drivers.Register(parseURL, "postgres", "postgresql") }

// allowedKeys are the keywords and URL parameters accepted: libpq's connection parameters that pgx
// knows, and a few session settings.
var allowedKeys = []string{
	"host", "port", "dbname", "database", "user", "password", "passfile", "connect_timeout",
	"sslmode", "sslkey", "sslcert", "sslcertmode", "sslrootcert", "sslnegotiation", "sslpassword", "sslsni",
	"krbspn", "krbsrvname", "target_session_attrs", "service", "servicefile",
	"min_protocol_version", "max_protocol_version", "channel_binding", "require_auth",
	"application_name", "search_path", "options", "timezone", "statement_timeout", "lock_timeout",
}

// shown are the URL parameters a display form shows with their values; secret those it shows as
// xxxxx.
var (
	shown  = []string{"host", "port", "dbname", "sslmode", "target_session_attrs"}
	secret = []string{"password", "sslpassword"}
)

// parseURL checks a postgres: URL or a keyword/value DSN with pgx, which then takes it as it is
// (with the scheme in lower case).
func parseURL(raw string) (drivers.Target, error) {
	scheme, rest, _ := strings.Cut(raw, ":")
	if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" {
		return keywordValue(raw)
	}
	raw = strings.ToLower(scheme) + ":" + rest // pgx knows the schemes in lower case only
	u, q, err := redact.ParseURL(raw)
	if err != nil {
		return drivers.Target{}, err
	}
	if u.Host == "" && q.Get("host") == "" {
		return drivers.Target{}, errors.New("it has no host (want postgres://user:password@host:port/database, or a unix socket directory as ?host=/var/run/postgresql)")
	}
	if _, err := parseConfig(raw); err != nil {
		return drivers.Target{}, err
	}
	dsn, err := pinSearchPath(raw, true)
	if err != nil {
		return drivers.Target{}, err
	}
	return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: dsn, Display: redact.Display(u, q, shown, secret), Classify: classify}, nil
}

// keywordValue checks a keyword/value DSN and shows it as its host, port, user and database.
func keywordValue(raw string) (drivers.Target, error) {
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f }) {
		return drivers.Target{}, errors.New("it holds a control character")
	}
	c, err := parseConfig(raw)
	if err != nil {
		return drivers.Target{}, err
	}
	display := "host=" + quote(c.Host) + " port=" + strconv.Itoa(int(c.Port))
	if c.User != "" {
		display += " user=" + quote(c.User)
	}
	if c.Database != "" {
		display += " dbname=" + quote(c.Database)
	}
	dsn, err := pinSearchPath(raw, false)
	if err != nil {
		return drivers.Target{}, err
	}
	return drivers.Target{Dialect: "postgres", Driver: "pgx", DSN: dsn, Display: display, Classify: classify}, nil
}

// pinSearchPath returns raw with search_path=pg_catalog added last (where pgx takes the last of a
// repeated parameter, and the server takes a startup parameter over the URL's options, the role's
// and the database's settings): the store's statements name their tables (public.…) but not their
// operators and functions, which must be pg_catalog's, and with pg_catalog alone on the path no
// other schema's can match closer ('=' for character varying, say, which pg_catalog compares as
// text). A DSN to which it cannot be added so that pgx reads it (a keyword DSN ending in an empty
// value, which would take it as its value) is refused: nothing else would pin the path.
func pinSearchPath(raw string, isURL bool) (string, error) {
	pinned := raw + " search_path=pg_catalog"
	if isURL {
		switch {
		case !strings.Contains(raw, "?"):
			pinned = raw + "?search_path=pg_catalog"
		case strings.HasSuffix(raw, "?") || strings.HasSuffix(raw, "&"):
			pinned = raw + "search_path=pg_catalog"
		default:
			pinned = raw + "&search_path=pg_catalog"
		}
	}
	if c, err := parseConfig(pinned); err != nil || c.RuntimeParams["search_path"] != "pg_catalog" {
		return "", errors.New("search_path=pg_catalog cannot be added to it so that the driver reads it " +
			"(does it end in a parameter with an empty value, or a backslash?); the store's sessions must search pg_catalog alone")
	}
	return pinned, nil
}

// quote quotes a keyword/value DSN value that needs it.
func quote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r\v\f'\\") {
		return v
	}
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// parseConfig parses a DSN with pgx, with only allowedKeys allowed. pgx's errors quote the DSN
// with its password hidden as well as pgx can tell (its documentation warns that it cannot always):
// the error returned says what is wrong in fixed words chosen from pgx's, and quotes nothing.
func parseConfig(raw string) (*pgconn.Config, error) {
	c, err := pgconn.ParseConfigWithOptions(raw, pgconn.ParseConfigOptions{ConnStringAllowedKeys: allowedKeys})
	if err == nil {
		return c, nil
	}
	msg := err.Error() // read, never passed on
	for _, r := range pgxReasons {
		if strings.Contains(msg, r.has) {
			return nil, errors.New(r.reason)
		}
	}
	return nil, errors.New("pgx cannot parse it (its message is not shown: it may quote the value)")
}

// pgxReasons map words of pgx's parse errors to reasons in fixed words.
var pgxReasons = []struct{ has, reason string }{
	{"ConnStringAllowedKeys", "it holds a keyword or parameter that is not a PostgreSQL connection parameter (they are lower case: host, port, dbname, user, password, sslmode, …; " +
		"the name is not shown, in case it is a piece of a password split by an unquoted space or an unescaped '&')"},
	{"unterminated quoted string", "a quoted value has no closing quote (write a quote inside a quoted value as \\')"},
	{"missing \"=\"", "a keyword has no '=' after it (quote a value that holds a space: password='a b')"},
	{"invalid keyword/value", "it is neither a postgres:// URL nor keyword=value pairs (quote a value that holds a space: password='a b')"},
	{"NUL byte", "it holds a NUL byte"},
	{"invalid port", "a port is not a number in [1, 65535]"},
	{"port numbers to", "the hosts and ports do not pair up"},
	{"sslmode", "sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full"},
	{"connect_timeout", "connect_timeout is not a whole number of seconds"},
	{"target_session_attrs", "target_session_attrs is not one of any, read-write, read-only, primary, standby, prefer-standby"},
	{"failed to configure TLS", "the TLS settings (sslrootcert, sslcert, sslkey, sslpassword) cannot be used"},
	{"service", "the service or service file cannot be read"},
	{"failed to parse as URL", "it does not parse as a URL"},
}

// sqlstateRE is what a SQLSTATE is: five digits or upper-case letters.
var sqlstateRE = regexp.MustCompile(`^[0-9A-Z]{5}$`)

// classify names pgx's errors: a server's error by its SQLSTATE, a timeout.
func classify(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code := pe.Code
		if !sqlstateRE.MatchString(code) {
			return "the server refused"
		}
		if s, ok := sqlstates[code]; ok {
			return fmt.Sprintf("%s (SQLSTATE %s)", s, code)
		}
		if s, ok := sqlstates[code[:2]]; ok {
			return fmt.Sprintf("%s (SQLSTATE %s)", s, code)
		}
		return "the server refused (SQLSTATE " + code + ")"
	}
	if pgconn.Timeout(err) {
		return "timed out"
	}
	return ""
}

// sqlstates describe the SQLSTATEs (and classes, by their first two characters) that opening a
// database meets.
var sqlstates = map[string]string{
	"28P01": "authentication failed: wrong password",
	"28000": "authorization failed: unknown role, or not allowed from this host",
	"28":    "authorization failed",
	"3D000": "the database does not exist",
	"42501": "permission denied",
	"42":    "the statement was refused",
	"53300": "too many connections",
	"53":    "the server lacks resources",
	"57P03": "the server is starting up or shutting down",
	"57":    "the server stopped the operation",
	"08":    "connection failure",
	"0A000": "feature not supported",
	"25006": "the server is read-only (a standby?)",
	"40001": "serialization failure",
	"40P01": "deadlock detected",
}
