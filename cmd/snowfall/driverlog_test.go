package main

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// TestMySQLDriverLogsThroughSlog: go-sql-driver/mysql's own log lines (here "unexpected EOF" from a
// server that hangs up mid-handshake) reach serve's logger at WARN, not stderr with "[mysql]", and
// carry neither the password nor the URL.
func TestMySQLDriverLogsThroughSlog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte{0x4a, 0x00}) // two bytes of a packet header, then the end
			c.Close()
		}
	}()
	const pw = "s3cretPW"
	db := "mysql://snow:" + pw + "@" + ln.Addr().String() + "/test"
	code, stderr := runWithin(t, 30*time.Second, nil, "serve", "--host", "127.0.0.1", "--port", "0", "--db", db,
		"--db-timeout", "2s", "--exit-on-start-failure")
	if code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	var driver []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "unexpected EOF") && strings.Contains(line, "mysql driver") {
			driver = append(driver, line)
		}
	}
	if len(driver) == 0 {
		t.Errorf("no slog line from the driver; stderr:\n%s", stderr)
	}
	for _, line := range driver {
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "packets.go:") {
			t.Errorf("driver line %q: want level=WARN and the driver's packets.go:N", line)
		}
	}
	for _, bad := range []string{pw, "[mysql]", db} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr has %q:\n%s", bad, stderr)
		}
	}
}

// TestDriverLogBlotsTheURL: should the driver ever put the lease URL or its password in a line,
// the line shows neither.
func TestDriverLogBlotsTheURL(t *testing.T) {
	var b strings.Builder
	raw := "mysql://snow:p%40ss%2Fw0rd@db.example:3306/ids"
	d := routeMySQLLog(slog.New(slog.NewTextHandler(&b, nil)), redact.New(raw, "mysql://snow:xxxxx@db.example:3306/ids"))
	defer mysqlTarget.Store(nil)
	for _, msg := range []string{"dial " + raw + " failed", "auth p@ss/w0rd refused", "escaped p%40ss%2Fw0rd"} {
		b.Reset()
		d.Print(msg)
		if out := b.String(); strings.Contains(out, "p@ss/w0rd") || strings.Contains(out, "p%40ss%2Fw0rd") || !strings.Contains(out, "level=WARN") {
			t.Errorf("Print(%q) logged %q", msg, out)
		}
	}
}
