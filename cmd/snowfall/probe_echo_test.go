package main

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestProbeEchoedAuthorization (red team probe_echo.sh: probe sends the URL's user:password as
// HTTP Basic authorization and prints the answer's body, and a server echoing the header got the
// password printed in base64): whatever the server echoes of what probe sent, in base64 of either
// alphabet, padded or not, no piece of it is printed.
func TestProbeEchoedAuthorization(t *testing.T) {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		body := "echo " + r.Header.Get("Authorization")
		for _, e := range encs {
			body += " " + e.EncodeToString([]byte(user+":"+pw)) + " " + e.EncodeToString([]byte(pw))
		}
		if strings.HasPrefix(pw, "Qz") { // the body in the error of a failed probe
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	leaks := 0
	for _, user := range []string{"rt_user", "rt%5Fuser"} {
		for _, pw := range []string{"hunter2zz", "Qz", "hun%20ter2", "p+w/x?y=="} {
			raw := strings.Replace(srv.URL, "://", "://"+user+":"+url.PathEscape(pw)+"@", 1)
			for _, viaEnv := range []bool{false, true} {
				args, env := []string{"probe", "--server", raw, "/livez"}, map[string]string(nil)
				if viaEnv {
					args, env = []string{"probe", "/livez"}, map[string]string{"SNOWFALL_SERVER": raw}
				}
				_, out, errs := runCmd(t, "", env, args...)
				got := out + errs
				u, _ := url.Parse(raw)
				dpw, _ := u.User.Password()
				for _, plain := range []string{u.User.Username() + ":" + dpw, dpw} {
					for _, e := range encs {
						b := e.EncodeToString([]byte(plain))
						if len(b) >= 4 && strings.Contains(got, b[:4]) {
							leaks++
							t.Errorf("user %q password %q (env %v): %q in base64 shown: %q", user, pw, viaEnv, plain, got)
						}
					}
				}
				if !strings.Contains(got, "echo") {
					t.Errorf("user %q password %q: no answer printed: %q", user, pw, got)
				}
			}
		}
	}
	t.Logf("leaks: %d", leaks)
}
