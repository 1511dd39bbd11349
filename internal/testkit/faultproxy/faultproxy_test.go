package faultproxy_test

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/testkit/faultproxy"
)

// echo starts a server that echoes lines back.
func echo(t *testing.T) string {
	t.Helper()
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
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// roundTrip sends a line through addr's connection c and reports whether it came back.
func roundTrip(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "ping\n"
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestCutRestore(t *testing.T) {
	p, err := faultproxy.New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	old := dial(t, p.Addr())
	if !roundTrip(old) {
		t.Fatal("no echo through the proxy")
	}
	p.Cut()
	if roundTrip(old) {
		t.Error("a connection made before the cut still works")
	}
	if roundTrip(dial(t, p.Addr())) {
		t.Error("a connection made while cut works")
	}
	p.Restore()
	if !roundTrip(dial(t, p.Addr())) {
		t.Error("no echo after Restore")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("dial after Close succeeded")
	}
}

// TestStall: while stalled, connections old and new stay open and get no answer; Restore
// delivers what was held.
func TestStall(t *testing.T) {
	p, err := faultproxy.New(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	old := dial(t, p.Addr())
	if !roundTrip(old) {
		t.Fatal("no echo through the proxy")
	}
	p.Stall()
	fresh := dial(t, p.Addr()) // accepted, not forwarded
	for _, c := range []net.Conn{old, fresh} {
		if _, err := c.Write([]byte("held\n")); err != nil {
			t.Fatalf("write while stalled: %v", err)
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var b [1]byte
		if n, err := c.Read(b[:]); n != 0 || !isTimeout(err) {
			t.Fatalf("read while stalled: %d bytes, %v; want a timeout (no answer, no close)", n, err)
		}
	}
	p.Restore()
	for _, c := range []net.Conn{old, fresh} {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "held\n" {
			t.Fatalf("after Restore: got %q, %v; want the held line", line, err)
		}
	}
	p.Stall()
	p.Cut() // a cut ends a stall and closes what it held
	old.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := old.Read(b[:]); err == nil || isTimeout(err) {
		t.Errorf("read after Cut of a stalled proxy: %v, want the connection closed", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
