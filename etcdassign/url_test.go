package etcdassign

import (
	"strings"
	"testing"
	"time"
)

var urlCases = []struct {
	name, url, group string
	endpoints        string // joined by commas; empty: want an error
	prefix           string
	err              string // in the error
}{
	{"one host", "etcd://127.0.0.1:2379/leases", "", "127.0.0.1:2379", "/leases/", ""},
	{"three hosts, group", "etcd://a:1,b:2,c:3/x/y", "g1", "a:1,b:2,c:3", "/x/y/g1/", ""},
	{"default prefix", "etcd://h:2379", "", "h:2379", "/snowfall/", ""},
	{"user and password", "etcd://root:s3cret@h:2379/p", "", "h:2379", "/p/", ""},
	{"tls", "etcd://h:2379/p?tls=true&dial-timeout=2s", "", "h:2379", "/p/", ""},
	{"ipv6", "etcd://[::1]:2379/p", "", "[::1]:2379", "/p/", ""},
	{"other scheme", "http://h:2379/p", "", "", "", `its scheme is not etcd:`},
	{"no host", "etcd:///p", "", "", "", "no host"},
	{"no port", "etcd://h/p", "", "", "", `endpoint "h" is not host:port`},
	{"port out of range", "etcd://root:s3cret@h:70000/p", "", "", "", "out of range [1, 65535]"},
	{"empty endpoint", "etcd://h:1,,k:2/p", "", "", "", `endpoint "" is not host:port`},
	{"bad prefix", "etcd://h:1/a b", "", "", "", "key prefix"},
	{"bad group", "etcd://h:1/p", "Bad-Group", "", "", `group "Bad-Group"`},
	{"unknown parameter", "etcd://root:s3cret@h:1/p?sslmode=require", "", "", "", `a parameter is not one of tls,`},
	{"password parameter", "etcd://h:1/p?password=s3cret", "", "", "", `the password goes in the user-information`},
	{"unescaped slash in the password", "etcd://root:s3c/ret@h:1/p", "", "", "", `not a valid etcd URL (value hidden)`},
	{"unescaped at and slash in the password", "etcd://root:s3@c/ret@h:1/p", "", "", "", `an '@' after the host`},
	{"bad bool", "etcd://h:1/p?tls=maybe", "", "", "", `tls "maybe": want true or false`},
	{"bad timeout", "etcd://h:1/p?dial-timeout=2h", "", "", "", "dial-timeout"},
	{"cert without key", "etcd://h:1/p?cert=/c.pem", "", "", "", "cert and key go together"},
	{"missing cacert", "etcd://h:1/p?cacert=/nonexistent.pem", "", "", "", "cacert"},
}

func TestParseURL(t *testing.T) {
	for _, tc := range urlCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseURL(tc.url, tc.group)
			if tc.endpoints == "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "etcdassign: ") {
					t.Fatalf("parseURL(%q): got error %v, want one containing %q", tc.url, err, tc.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error %q holds the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tc.url, err)
			}
			if e := strings.Join(got.endpoints, ","); e != tc.endpoints || got.prefix != tc.prefix {
				t.Errorf("parseURL(%q): endpoints %s prefix %s, want %s and %s", tc.url, e, got.prefix, tc.endpoints, tc.prefix)
			}
			if strings.Contains(got.display, "s3cret") {
				t.Errorf("display %q holds the password", got.display)
			}
		})
	}
	got, err := parseURL("etcd://root:s3cret@h:1/p?tls=1&dial-timeout=250ms", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.user != "root" || got.password != "s3cret" || got.tls == nil || got.dial != 250*time.Millisecond {
		t.Errorf("got user %q password %q tls %v dial %v", got.user, got.password, got.tls != nil, got.dial)
	}
	if r, err := Redacted("etcd://root:s3cret@a:1,b:2/p?tls=true"); r != "etcd://root:xxxxx@a:1,b:2/p?tls=true" || err != nil {
		t.Errorf("Redacted: got %q, %v", r, err)
	}
}

func TestTTLOf(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{{0, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + time.Nanosecond, 2}, {1500 * time.Millisecond, 2}, {10 * time.Second, 10}} {
		if got := ttlOf(tc.d); got != tc.want {
			t.Errorf("ttlOf(%v) = %d, want %d", tc.d, got, tc.want)
		}
		if time.Duration(ttlOf(tc.d))*time.Second < tc.d {
			t.Errorf("ttlOf(%v) = %d s is shorter than the lease", tc.d, ttlOf(tc.d))
		}
	}
}

// FuzzParseURL: parseURL never panics, a password never reaches an error or the display form, and
// a parsed URL has endpoints and a prefix between slashes.
func FuzzParseURL(f *testing.F) {
	for _, tc := range urlCases {
		f.Add(tc.url, tc.group)
	}
	f.Fuzz(func(t *testing.T, raw, group string) {
		got, err := parseURL(raw, group)
		if err != nil {
			return
		}
		if len(got.endpoints) == 0 || !strings.HasPrefix(got.prefix, "/") || !strings.HasSuffix(got.prefix, "/") {
			t.Fatalf("parseURL(%q): endpoints %v prefix %q", raw, got.endpoints, got.prefix)
		}
		if got.password != "" && len(got.password) > 3 && strings.Contains(got.display, got.password) {
			t.Fatalf("display %q holds the password %q", got.display, got.password)
		}
	})
}

// TestUnparsableURLHidesPassword: the error for a URL that does not parse names it without its
// password, nor the value at all.
func TestUnparsableURLHidesPassword(t *testing.T) {
	_, err := parseURL("etcd://root:s3cr%zzet@a:1/p", "")
	if err == nil {
		t.Fatal("parseURL accepted a bad escape")
	}
	if strings.Contains(err.Error(), "s3cr") {
		t.Errorf("error %q shows the password", err)
	}
}
