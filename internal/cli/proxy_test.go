package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

// proxyURL parses a proxy variable's value as net/http does (golang.org/x/net/http/httpproxy): a
// value that does not parse, or whose scheme is none of http, https and socks5, is read with
// "http://" before it.
func proxyURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		if u, err := url.Parse("http://" + v); err == nil {
			return u, nil
		}
	}
	return u, err
}

// TestGuardProxyEnv (red team r2 F7, proxyecho/run.sh: net/http reads HTTP_PROXY and its kin from
// the environment on its own, never through a command's Getenv, and sends the proxy URL's
// user:password as Proxy-Authorization; a proxy echoing it got base64("ops:Zq7Kp9Wm") printed):
// a command that never reads the variable itself sends a request through the proxy it names, as
// net/http would, and prints the proxy's answer (which echoes Proxy-Authorization, in every base64
// alphabet) on stdout, stderr and in its error. Whether the variable is in the environment the
// test hands the guard (IO.Getenv) or in the process's own (which net/http reads), in upper or
// lower case, with a scheme or without, no four characters in a row of the password or of the
// base64 of the user:password sent are shown.
func TestGuardProxyEnv(t *testing.T) {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := "upstream " + r.Host + " unreachable; proxy-auth=" + r.Header.Get("Proxy-Authorization")
		if u, p, ok := parseBasic(r.Header.Get("Proxy-Authorization")); ok {
			for _, e := range encs {
				body += " " + e.EncodeToString([]byte(u+":"+p)) + " " + e.EncodeToString([]byte(p))
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, body+"\n")
	}))
	defer proxy.Close()
	host := strings.TrimPrefix(proxy.URL, "http://")
	values := []string{
		"http://ops:Zq7Kp9Wm@" + host,
		"ops:Zq7Kp9Wm@" + host, // no scheme: net/http reads http://
		"http://ops:Kq9%3AZx%2F7W@" + host,
		"http://:Wq8Rt5Yp@" + host, // empty user: net/http sends ":Wq8Rt5Yp"
		"ops:a:Xb3Vn:Mq@" + host,   // no scheme, ':' in the password
		"https://ops:Hv6Jt2Ld@" + host,
	}
	leaks, runs := 0, 0
	for _, v := range values {
		pu, err := proxyURL(v)
		if err != nil || pu.User == nil {
			t.Fatalf("%q: %v", v, err)
		}
		pu.Scheme = "http" // the test's proxy speaks plain HTTP; what is sent is the same
		pw, _ := pu.User.Password()
		sent := pu.User.Username() + ":" + pw
		for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
			for _, where := range []string{"Getenv", "process"} {
				sio := IO{Getenv: func(string) string { return "" }}
				if where == "Getenv" {
					sio.Getenv = func(name string) string {
						if name == k {
							return v
						}
						return ""
					}
				} else {
					t.Setenv(k, v)
				}
				var out, errb strings.Builder
				sio.Out, sio.Err = &out, &errb
				err := Guarded(context.Background(), []string{"probe", "--server", "http://ids.internal:8910"}, sio,
					func(ctx context.Context, args []string, gio IO) error {
						tr := &http.Transport{Proxy: http.ProxyURL(pu)}
						defer tr.CloseIdleConnections()
						resp, err := (&http.Client{Transport: tr}).Get("http://ids.internal:8910/livez")
						if err != nil {
							return err
						}
						defer resp.Body.Close()
						b, _ := io.ReadAll(resp.Body)
						gio.Out.Write(b)
						gio.Err.Write(b)
						return errors.New("probe: " + resp.Status + ": " + string(b))
					})
				if where == "process" {
					os.Unsetenv(k)
				}
				got := out.String() + errb.String()
				if err != nil {
					got += err.Error()
				}
				runs++
				if !strings.Contains(got, "upstream ids.internal:8910") {
					t.Errorf("%s %s=%q: the proxy's answer is not printed: %q", where, k, v, got)
				}
			windows:
				for _, plain := range []string{sent, pw} {
					for _, e := range encs {
						b := e.EncodeToString([]byte(plain))
						for i := 0; i+4 <= len(b); i++ {
							if strings.Contains(got, b[i:i+4]) {
								leaks++
								t.Errorf("%s %s=%q: %q of base64(%q) (what net/http sends) shown: %q", where, k, v, b[i:i+4], plain, got)
								break windows
							}
						}
					}
				}
				for i := 0; i+4 <= len(pw); i++ {
					if strings.Contains(got, pw[i:i+4]) {
						leaks++
						t.Errorf("%s %s=%q: %q of the password shown: %q", where, k, v, pw[i:i+4], got)
						break
					}
				}
			}
		}
	}
	t.Logf("runs=%d leaks=%d", runs, leaks)
}

// parseBasic decodes an HTTP Basic authorization header.
func parseBasic(h string) (user, pw string, ok bool) {
	r := http.Request{Header: http.Header{"Authorization": {h}}}
	return r.BasicAuth()
}
