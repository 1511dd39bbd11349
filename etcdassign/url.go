package etcdassign

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// target is a parsed etcd URL.
type target struct {
	endpoints []string
	prefix    string // the key prefix, with leading and trailing slash
	user      string
	password  string
	tls       *tls.Config
	dial      time.Duration
	display   string // the URL without its password, for messages
}

// params are the query parameters an etcd URL may carry.
var params = []string{"tls", "cacert", "cert", "key", "insecure-skip-tls-verify", "dial-timeout"}

// prefixRE is what a key prefix may hold.
var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_./-]{0,200}$`)

// groupRE is what a group name may hold, as in sqlassign.
var groupRE = regexp.MustCompile(`^[a-z0-9_]{0,40}$`)

// Redact returns raw with its password replaced by xxxxx, for messages, also when raw does not
// parse (internal/redact, the one redaction every message of the project goes through).
func Redact(raw string) string { return redact.DSN(raw) }

// parseURL parses etcd://[user[:password]@]host:port[,host:port…]/prefix[?params] and a group name.
func parseURL(raw, group string) (target, error) {
	if !groupRE.MatchString(group) {
		return target{}, fmt.Errorf("etcdassign: group %q: want up to 40 lower-case letters, digits and underscores", group)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL, password included: say only what is wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return target{}, fmt.Errorf("etcdassign: bad etcd URL %s: %w", Redact(raw), err)
	}
	t := target{display: u.Redacted(), dial: 5 * time.Second}
	if u.Scheme != "etcd" {
		return target{}, fmt.Errorf("etcdassign: URL %s: scheme %q, want etcd://host:port[,host:port…]/prefix", t.display, u.Scheme)
	}
	if u.Host == "" {
		return target{}, fmt.Errorf("etcdassign: URL %s has no host (want etcd://host:port[,host:port…]/prefix)", t.display)
	}
	for _, h := range strings.Split(u.Host, ",") {
		host, port, err := net.SplitHostPort(h)
		if err != nil || host == "" {
			return target{}, fmt.Errorf("etcdassign: URL %s: endpoint %q is not host:port", t.display, h)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return target{}, fmt.Errorf("etcdassign: URL %s: endpoint %q: port %q out of range [1, 65535]", t.display, h, port)
		}
		t.endpoints = append(t.endpoints, h)
	}
	p := strings.Trim(u.Path, "/")
	if p == "" {
		p = "snowfall"
	}
	if !prefixRE.MatchString(p) {
		return target{}, fmt.Errorf("etcdassign: URL %s: key prefix %q: want up to 200 letters, digits, '_', '.', '-' and '/'", t.display, p)
	}
	t.prefix = "/" + p + "/"
	if group != "" {
		t.prefix += group + "/"
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		known := false
		for _, p := range params {
			known = known || k == p
		}
		if !known {
			return target{}, fmt.Errorf("etcdassign: URL %s: unknown parameter %q (want %s)", t.display, k, strings.Join(params, ", "))
		}
	}
	if v := q.Get("dial-timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			return target{}, fmt.Errorf("etcdassign: URL %s: dial-timeout %q: want a duration in (0, 1m]", t.display, v)
		}
		t.dial = d
	}
	useTLS, err := boolParam(q, "tls", t.display)
	if err != nil {
		return target{}, err
	}
	skip, err := boolParam(q, "insecure-skip-tls-verify", t.display)
	if err != nil {
		return target{}, err
	}
	ca, cert, key := q.Get("cacert"), q.Get("cert"), q.Get("key")
	if (cert == "") != (key == "") {
		return target{}, fmt.Errorf("etcdassign: URL %s: cert and key go together", t.display)
	}
	if useTLS || skip || ca != "" || cert != "" {
		c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skip}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return target{}, fmt.Errorf("etcdassign: URL %s: cacert: %w", t.display, err)
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return target{}, fmt.Errorf("etcdassign: URL %s: cacert %s holds no PEM certificate", t.display, ca)
			}
		}
		if cert != "" {
			kp, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return target{}, fmt.Errorf("etcdassign: URL %s: cert and key: %w", t.display, err)
			}
			c.Certificates = []tls.Certificate{kp}
		}
		t.tls = c
	}
	return t, nil
}

func boolParam(q url.Values, name, display string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("etcdassign: URL %s: %s %q: want true or false", display, name, v)
	}
	return b, nil
}
