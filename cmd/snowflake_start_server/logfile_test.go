package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
	"github.com/snowfall-go/snowfall/internal/testkit/cmdtest"
)

// TestLogFileGuarded (red team F1, ssss_logfile_leak.sh: --log_file_prefix's file was written past
// the guard, so a password-shaped piece of the input, the state file's directory
// "db-password=Zq7Wk3Pv", showed in it when the state file moved, while stderr hid it): the log
// file goes through the same guard as stderr.
func TestLogFileGuarded(t *testing.T) {
	dir := t.TempDir()
	secretDir := filepath.Join(dir, "db-password=Zq7Wk3Pv")
	if err := os.Mkdir(secretDir, 0o755); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "psf.log")
	state := filepath.Join(secretDir, "st")
	srv := cmdtest.MustStart(t, run, nil, "--host", "127.0.0.1", "--port", "0", "--log_file_prefix="+logFile, "--state-file", state)
	if code, body := cmdtest.Get(t, srv.URL+"/"); code != 200 {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if err := os.Rename(state, state+"2"); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		b, _ = os.ReadFile(logFile)
		if strings.Contains(string(b), "path names another file") {
			break
		}
	}
	srv.Stop()
	b, _ = os.ReadFile(logFile)
	if !strings.Contains(string(b), "path names another file") {
		t.Fatalf("the log file lacks the record of the moved state file (the check would prove nothing):\n%s", b)
	}
	if strings.Contains(string(b), "Zq7Wk3Pv") {
		t.Errorf("the log file shows the password:\n%s", b)
	}
	if !strings.Contains(string(b), redact.Hidden) {
		t.Errorf("the log file hides nothing:\n%s", b)
	}
}
