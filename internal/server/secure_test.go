package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/snowfall-go/snowfall/api"
)

var secureTests = []struct {
	name, in string
	changed  bool
	json     bool // the body becomes an api.Error
}{
	{"handler answer", "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 2\r\n\r\n42", false, false},
	{"net/http 400", "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request", true, true},
	{"net/http 505 with detail", "HTTP/1.1 505 HTTP Version Not Supported: unsupported protocol version\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n505 HTTP Version Not Supported: unsupported protocol version", true, true},
	{"417 sized", "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", true, true},
	{"error, body not all here", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 10\r\n\r\nabc", true, false},
	{"error kept alive", "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc", true, false},
	{"chunked error", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", true, false},
	{"one header missing", "HTTP/1.1 200 OK\r\nX-Content-Type-Options: nosniff\r\nContent-Length: 0\r\n\r\n", true, false},
	{"interim", "HTTP/1.1 100 Continue\r\n\r\n", false, false},
	{"body bytes", "4242\n", false, false},
	{"head not ended", "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n", false, false},
	{"HTTP/1.0", "HTTP/1.0 400 Bad Request\r\nConnection: close\r\n\r\nx", true, true},
	{"folded header line", "HTTP/1.0 200 \r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n 0\r\n\r\n", true, false},
}

func TestSecureAnswer(t *testing.T) {
	for _, c := range secureTests {
		t.Run(c.name, func(t *testing.T) {
			out, ok := secureAnswer([]byte(c.in))
			if ok != c.changed {
				t.Fatalf("changed %v, want %v: %q", ok, c.changed, out)
			}
			if !ok {
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("%q does not parse: %v", out, err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("%q lacks the headers", out)
			}
			var e api.Error
			isJSON := resp.Header.Get("Content-Type") == "application/json" && json.Unmarshal(body, &e) == nil && e.Message != ""
			if isJSON != c.json {
				t.Errorf("JSON error %v, want %v: %q", isJSON, c.json, out)
			}
		})
	}
}

// FuzzSecureAnswer: whatever is written (with CRLF line ends, as net/http writes), secureAnswer either leaves it alone or returns an answer
// that parses as one when the input did, with the same status code, both headers, and (unless its
// body became an api.Error) the same body bytes after the head.
func FuzzSecureAnswer(f *testing.F) {
	for _, c := range secureTests {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if head, _, _ := strings.Cut(in, "\r\n\r\n"); strings.Count(head, "\n") != strings.Count(head, "\r\n") ||
			strings.Count(head, "\r") != strings.Count(head, "\r\n") {
			return // net/http ends every line with CRLF; a bare CR or LF makes another head of it
		}
		out, ok := secureAnswer([]byte(in))
		if !ok {
			return
		}
		if !strings.HasPrefix(string(out), in[:9]) {
			t.Fatalf("%q became %q: another protocol version", in, out)
		}
		before, err := http.ReadResponse(bufio.NewReader(strings.NewReader(in)), nil)
		if err != nil {
			return
		}
		after, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
		if err != nil {
			t.Fatalf("%q parsed, %q does not: %v", in, out, err)
		}
		if after.StatusCode != before.StatusCode {
			t.Fatalf("%q: status %d became %d", in, before.StatusCode, after.StatusCode)
		}
		if after.Header.Get("X-Content-Type-Options") != "nosniff" || after.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%q lacks the headers", out)
		}
		if after.Header.Get("Content-Type") == "application/json" && before.Header.Get("Content-Type") != "application/json" {
			return // rewritten as an api.Error
		}
		_, inBody, _ := strings.Cut(in, "\r\n\r\n")
		_, outBody, _ := strings.Cut(string(out), "\r\n\r\n")
		if inBody != outBody {
			t.Fatalf("%q: body %q became %q", in, inBody, outBody)
		}
	})
}

// BenchmarkSecureAnswer measures the check on a handler's answer, which passes unchanged: the cost
// every answer pays.
func BenchmarkSecureAnswer(b *testing.B) {
	ans := []byte("HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n" +
		"Date: Sun, 06 Dec 2026 19:42:09 GMT\r\nContent-Length: 19\r\n\r\n1825500116031635456")
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := secureAnswer(ans); ok {
			b.Fatal("changed")
		}
	}
}
