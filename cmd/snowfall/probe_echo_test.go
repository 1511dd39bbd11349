package main

import (
	"encoding/base64"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/internal/testkit/leakcheck"
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

// TestProbeEchoedAuthorizationParsed (red team F5, basic_echo_colon.sh: with a password holding
// ':' the guard took the text before it for the user, as in mysql:u:p@, and with an empty user it
// hid no user:password; a server echoing the Authorization header got base64("ops:Kq9:Zx7Wp") and
// base64(":Kq9Zx7Wp") printed): for generated passwords, one ':' put in each, with an empty user
// or not, written escaped or raw, from --server (scheme or none, "--server=…" too) or
// SNOWFALL_SERVER, no four characters in a row of the base64 of what net/http sends (net/url's
// user + ":" + password), in any alphabet, padded or not, are printed.
func TestProbeEchoedAuthorizationParsed(t *testing.T) {
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // the body in the error of a failed probe
		w.Write([]byte("echo " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	pws := []string{"Kq9:Zx7Wp", "Kq9Zx7Wp", ":", "a:b:c", "Zq:"}
	r := rand.New(rand.NewPCG(5, 5))
	for len(pws) < 16 {
		p := leakcheck.Generate(r)
		if p.Class == leakcheck.Letters || p.Class == leakcheck.Marker || p.Class == leakcheck.Control {
			continue
		}
		rs := []rune(p.Text)
		k := r.IntN(len(rs) + 1)
		pws = append(pws, string(rs[:k])+":"+string(rs[k:]))
	}
	leaks, runs := 0, 0
	for i, pw := range pws {
		for _, user := range []string{"ops", ""} {
			ui := url.UserPassword(user, pw).String()
			if i < 5 { // as written: ':' needs no escape in a password
				ui = user + ":" + pw
			}
			u, err := url.Parse("http://" + ui + "@" + host)
			if err != nil {
				t.Fatalf("%q: %v", ui, err)
			}
			dpw, _ := u.User.Password()
			sent := u.User.Username() + ":" + dpw
			for _, how := range []string{"flag", "flag=", "flag, no scheme", "env"} {
				raw := "http://" + ui + "@" + host
				args, env := []string{"probe", "--server", raw, "/livez"}, map[string]string(nil)
				switch how {
				case "flag=":
					args = []string{"probe", "--server=" + raw, "/livez"}
				case "flag, no scheme":
					args = []string{"probe", "--server", ui + "@" + host, "/livez"}
				case "env":
					args, env = []string{"probe", "/livez"}, map[string]string{"SNOWFALL_SERVER": ui + "@" + host}
				}
				_, out, errs := runCmd(t, "", env, args...)
				got := out + errs
				runs++
				if !strings.Contains(got, "echo") {
					t.Errorf("%s %q: no answer printed: %q", how, raw, got)
				}
			windows:
				for _, e := range encs {
					b := e.EncodeToString([]byte(sent))
					for k := 0; k+4 <= len(b); k++ {
						if strings.Contains(got, b[k:k+4]) {
							leaks++
							t.Errorf("%s %q: %q of base64(%q) (what net/http sent) printed: %q", how, raw, b[k:k+4], sent, got)
							break windows
						}
					}
				}
			}
		}
	}
	t.Logf("runs=%d leaks=%d", runs, leaks)
}
