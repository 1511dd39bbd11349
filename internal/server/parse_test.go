package server

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

var parseNTests = []struct {
	name  string
	query string
	n     int
	bad   string // part of the message, "" when valid
}{
	{"one", "n=1", 1, ""},
	{"max", "n=100000", 100000, ""},
	{"among others", "a=b&n=42&c=d", 42, ""},
	{"first wins", "n=3&n=4", 3, ""},
	{"zero", "n=0", 0, "out of range"},
	{"over", "n=100001", 0, "out of range"},
	{"negative", "n=-1", 0, "out of range"},
	{"word", "n=abc", 0, "not a number"},
	{"empty", "n=", 0, "not a number"},
	{"missing", "m=1", 0, "missing"},
	{"no query", "", 0, "missing"},
	{"plus sign", "n=%2B5", 0, "not a number"},
	{"huge", "n=99999999999999999999999", 0, "out of range"},
	{"twelve zeros", "n=000000000005", 5, ""},
	{"thirteen zeros", "n=0000000000005", 5, ""}, // was "not a number" while twelve worked
	{"forty zeros", "n=00000000000000000000000000000000000000007", 7, ""},
	{"zeros, then too many digits", "n=0000099999999999999", 0, "out of range"},
	{"escaped digit", "n=%35", 5, ""},
	{"escaped key", "%6E=7", 7, ""},
	{"space", "n=+5", 0, "not a number"},
	{"escaped space", "n=%205", 0, "not a number"},
	{"hex", "n=0x10", 0, "not a number"},
	{"bad escape", "n=%zz", 0, "not a number"},
}

func TestParseN(t *testing.T) {
	for _, c := range parseNTests {
		t.Run(c.name, func(t *testing.T) {
			n, msg := parseN(c.query, DefaultMaxIDs)
			if c.bad == "" {
				if msg != "" || n != c.n {
					t.Errorf("parseN(%q) = %d, %q; want %d", c.query, n, msg, c.n)
				}
				return
			}
			if !strings.Contains(msg, c.bad) || !strings.Contains(msg, "[1, 100000]") {
				t.Errorf("parseN(%q) message %q, want one mentioning %q and the range", c.query, msg, c.bad)
			}
		})
	}
}

// FuzzParseN checks that parseN either returns an n in range or a message, and agrees with
// strconv on the value.
func FuzzParseN(f *testing.F) {
	for _, c := range parseNTests {
		f.Add(c.query)
	}
	f.Fuzz(func(t *testing.T, q string) {
		n, msg := parseN(q, DefaultMaxIDs)
		if (msg == "") == (n == 0) {
			t.Fatalf("parseN(%q) = %d, %q: want exactly one of a count and a message", q, n, msg)
		}
		if msg != "" {
			return
		}
		if n < 1 || n > DefaultMaxIDs {
			t.Fatalf("parseN(%q) = %d, out of range", q, n)
		}
		vals, _ := url.ParseQuery(q)
		for _, v := range vals["n"] {
			if m, err := strconv.Atoi(v); err == nil && m == n && strings.Trim(v, "0123456789") == "" {
				return
			}
		}
		t.Fatalf("parseN(%q) = %d, which the query does not hold", q, n)
	})
}

// TestWaitCtx checks the lazy deadline: no deadline until asked, then the timeout from that moment,
// and the parent's cancellation passes through.
func TestWaitCtx(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		c := boundWait(context.Background(), 50*time.Millisecond)
		defer c.release()
		if err := c.Err(); err != nil {
			t.Fatalf("Err before the deadline: %v", err)
		}
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after the timeout")
		}
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err %v, want DeadlineExceeded", err)
		}
	})
	t.Run("err without done", func(t *testing.T) {
		c := boundWait(context.Background(), 10*time.Millisecond)
		defer c.release()
		c.Err() // fixes the deadline
		time.Sleep(20 * time.Millisecond)
		if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Err %v, want DeadlineExceeded", err)
		}
	})
	t.Run("parent", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		c := boundWait(parent, time.Hour)
		defer c.release()
		done := c.Done()
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Done not closed after the parent's cancellation")
		}
		if err := c.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("Err %v, want Canceled", err)
		}
	})
	t.Run("parent deadline first", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		c := boundWait(parent, time.Hour)
		defer c.release()
		if d, ok := c.Deadline(); !ok || time.Until(d) > time.Second {
			t.Errorf("Deadline %v %v, want the parent's", d, ok)
		}
	})
}
