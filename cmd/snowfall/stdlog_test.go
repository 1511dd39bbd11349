package main

import (
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHTTP2DebugLogGuarded (red team F4, h2debug/run.sh: under GODEBUG=http2debug=2 net/http's
// HTTP/2 transport logs every header it sends, the Authorization header too, through Go's standard
// logger, which wrote to os.Stderr past the guard): the built command, probing an HTTP/2 server
// with a password in --server under GODEBUG=http2debug=2, prints the transport's debug lines but
// no piece of the password or of the base64 of user:password it sent.
func TestHTTP2DebugLogGuarded(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	cert := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	const user, pw = "ops", "Kq9Zx7Wp"
	raw := strings.Replace(srv.URL, "https://", "https://"+user+":"+pw+"@", 1)
	cmd := exec.Command(bin.Path(t), "probe", "--server", raw, "/livez")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SNOWFALL_") && !strings.HasPrefix(kv, "GODEBUG=") && !strings.HasPrefix(kv, "SSL_CERT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GODEBUG=http2debug=2", "SSL_CERT_FILE="+cert)
	b, err := cmd.CombinedOutput()
	got := string(b)
	if err != nil {
		t.Fatalf("probe: %v\n%s", err, got)
	}
	if !strings.Contains(got, "http2: Transport") {
		t.Fatalf("no HTTP/2 debug line printed (the check would prove nothing):\n%s", got)
	}
	for _, plain := range []string{user + ":" + pw, pw} {
		for _, e := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			s := e.EncodeToString([]byte(plain))
			for k := 0; k+4 <= len(s); k++ {
				if strings.Contains(got, s[k:k+4]) {
					t.Fatalf("%q of base64(%q) printed:\n%s", s[k:k+4], plain, got)
				}
			}
		}
	}
	if strings.Contains(got, pw) {
		t.Fatalf("password printed:\n%s", got)
	}
}
