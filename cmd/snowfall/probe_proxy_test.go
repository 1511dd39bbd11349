package main

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// TestProbeProxyEnvGuarded (red team r2 F7, proxyecho/run.sh: net/http reads HTTP_PROXY from the
// process's environment on its own, never through the guard's Getenv, and sends the proxy URL's
// user:password as Proxy-Authorization; a proxy echoing it got base64("ops:Zq7Kp9Wm") printed by
// probe): the built command (net/http reads its environment once per process), probing a server
// through a proxy named by HTTP_PROXY or http_proxy, with a scheme or without, prints the proxy's
// answer but no four characters in a row of the password or of the base64 of the user:password
// it sent.
func TestProbeProxyEnvGuarded(t *testing.T) {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	var proxied atomic.Int64
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream "+r.Host+" unreachable; proxy-auth="+r.Header.Get("Proxy-Authorization")+"\n")
	}))
	defer proxy.Close()
	host := strings.TrimPrefix(proxy.URL, "http://")
	leaks := 0
	for _, v := range []string{"http://ops:Zq7Kp9Wm@" + host, "ops:Kq9%3AZx7Wp@" + host, "http://:Wq8Rt5Yp@" + host} {
		for _, k := range []string{"HTTP_PROXY", "http_proxy"} {
			cmd := exec.Command(bin.Path(t), "probe", "--server", "http://ids.internal:8910", "/livez")
			for _, kv := range os.Environ() {
				name, _, _ := strings.Cut(kv, "=")
				if !strings.HasPrefix(name, "SNOWFALL_") && !strings.HasSuffix(strings.ToUpper(name), "_PROXY") && name != "REQUEST_METHOD" {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			cmd.Env = append(cmd.Env, k+"="+v)
			b, _ := cmd.CombinedOutput()
			got := string(b)
			if !strings.Contains(got, "upstream ids.internal:8910") {
				t.Errorf("%s=%q: the proxy's answer is not printed (the check would prove nothing): %q", k, v, got)
			}
			u, err := url.Parse(v)
			if err != nil || u.Scheme != "http" {
				u, _ = url.Parse("http://" + v) // as net/http reads a proxy without a scheme
			}
			pw, _ := u.User.Password()
		windows:
			for _, plain := range []string{u.User.Username() + ":" + pw, pw} {
				for _, e := range encs {
					s := e.EncodeToString([]byte(plain))
					for i := 0; i+4 <= len(s); i++ {
						if strings.Contains(got, s[i:i+4]) {
							leaks++
							t.Errorf("%s=%q: %q of base64(%q) (what net/http sent) printed: %q", k, v, s[i:i+4], plain, got)
							break windows
						}
					}
				}
			}
			for i := 0; i+4 <= len(pw); i++ {
				if strings.Contains(got, pw[i:i+4]) {
					leaks++
					t.Errorf("%s=%q: %q of the password printed: %q", k, v, pw[i:i+4], got)
					break
				}
			}
		}
	}
	t.Logf("proxied=%d leaks=%d", proxied.Load(), leaks)
}
