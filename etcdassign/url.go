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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// Redacted returns url as Open's messages show it: built from its parsed parts (user, endpoints,
// prefix and parameters), without its password. Errors: those of CheckURL for a malformed url (which
// never quote it).
func Redacted(url string) (string, error) {
	t, err := parseURL(url, "")
	if err != nil {
		return "", err
	}
	return t.display, nil
}

// canonicalPrefix returns the key prefix a URL's (decoded) path names, without its outer slashes:
// its segments joined by single slashes, so that every spelling of one prefix (slashes doubled,
// leading, trailing, escaped) names one key space, never two; "snowfall" when it has none. etcd
// keys are bytes, not paths: a "." or ".." segment would name a key space of its own, so it is
// refused rather than resolved.
func canonicalPrefix(path string) (string, error) {
	var segs []string
	for s := range strings.SplitSeq(path, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return "", fmt.Errorf("key prefix %q: a segment is %q: want segments of letters, digits, '_', '.' and '-', other than \".\" and \"..\"", strings.Trim(path, "/"), s)
		}
		segs = append(segs, s)
	}
	p := strings.Join(segs, "/")
	if p == "" {
		p = "snowfall"
	}
	if !prefixRE.MatchString(p) {
		return "", fmt.Errorf("key prefix %q: want up to 200 letters, digits, '_', '.', '-' and '/'", p)
	}
	return p, nil
}

// parseURL parses etcd://[user[:password]@]host:port[,host:port…]/prefix[?params] and a group name.
// Its errors never quote raw: a URL that does not parse may hold its password anywhere; parts of
// one that parsed are safe to show (see redact.ParseURL).
func parseURL(raw, group string) (target, error) {
	if !groupRE.MatchString(group) {
		return target{}, fmt.Errorf("etcdassign: group %q: want up to 40 lower-case letters, digits and underscores", group)
	}
	u, q, err := redact.ParseURL(raw)
	if err != nil {
		return target{}, &redact.InvalidError{Pkg: "etcdassign", What: "etcd URL", Reason: err}
	}
	t := target{display: redact.Display(u, q, params, nil), dial: 5 * time.Second}
	if !strings.EqualFold(u.Scheme, "etcd") {
		return target{}, &redact.InvalidError{Pkg: "etcdassign", What: "etcd URL", Reason: errors.New("its scheme is not etcd: (want etcd://host:port[,host:port…]/prefix)")}
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
	p, err := canonicalPrefix(u.Path)
	if err != nil {
		return target{}, fmt.Errorf("etcdassign: URL %s: %w", t.display, err)
	}
	t.prefix = "/" + p + "/"
	if group != "" {
		t.prefix += group + "/"
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.password, _ = u.User.Password()
	}
	for k := range q {
		if !slices.Contains(params, k) {
			// Not named: an unknown name may be a piece of a password whose '&' was not escaped.
			return target{}, fmt.Errorf("etcdassign: URL %s: a parameter is not one of %s (the password goes in the user-information: etcd://user:password@host:port/prefix)",
				t.display, strings.Join(params, ", "))
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

// classify names the etcd client's errors: the server's by its fixed description (rpctypes maps
// only the descriptions etcd defines), the rest by their gRPC code; a gRPC status message may hold
// a dial error naming an endpoint, so it is not passed on.
func classify(err error) string {
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	s, ok := status.FromError(err)
	if !ok {
		return ""
	}
	switch s.Code() {
	case codes.OK:
		return ""
	case codes.Unavailable:
		return "no member answered (gRPC Unavailable)"
	case codes.DeadlineExceeded:
		return "timed out"
	case codes.Unauthenticated:
		return "authentication failed (gRPC Unauthenticated)"
	case codes.PermissionDenied:
		return "permission denied (gRPC PermissionDenied)"
	}
	return "failed (gRPC " + s.Code().String() + ")"
}
