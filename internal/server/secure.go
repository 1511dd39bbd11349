package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/snowfall-go/snowfall/api"
)

// The header lines every answer carries.
const (
	nosniffLine = "X-Content-Type-Options: nosniff\r\n"
	noStoreLine = "Cache-Control: no-store\r\n"
)

// secureAnswer is the last word on what leaves a connection: when b starts an HTTP/1 answer
// (status 200 or above) whose head lacks X-Content-Type-Options: nosniff or Cache-Control:
// no-store, it returns the answer with them, and ok true. The handlers set both on every answer;
// what lacks them is what net/http writes itself, before or instead of a handler: its 400, 431,
// 501 and 505 for requests it cannot parse, and 417 for an unknown Expect. Those end the
// connection, so when b holds the whole answer (a body of its Content-Length, or one ended by the
// close) and it is an error, the body is replaced by an api.Error carrying net/http's words, as
// every other error is. Otherwise only the header lines are added.
//
// It relies on net/http writing each answer's head at the start of one Write: handlers' answers
// go through a 4 KiB buffer that is flushed after each answer, and its own errors are written
// whole with one Write. An answer head longer than that buffer would pass unchanged; none is.
func secureAnswer(b []byte) ([]byte, bool) {
	if len(b) < 16 || string(b[:7]) != "HTTP/1." || b[8] != ' ' {
		return nil, false
	}
	// Walk the head a line at a time (cheaper than searching for its end first: every answer
	// pays this), noting the two lines, until the empty line that ends it.
	lineEnd := bytes.IndexByte(b, '\n')
	if lineEnd < 1 || b[lineEnd-1] != '\r' {
		return nil, false
	}
	lineEnd-- // the status line's CR
	var hasNosniff, hasNoStore bool
	var last *bool // the flag the previous line set, undone if the line is continued
	pos := lineEnd + 2
	for {
		n := bytes.IndexByte(b[pos:], '\n')
		if n < 1 || b[pos+n-1] != '\r' {
			return nil, false // the head does not end in b, or not with CRLF lines as net/http writes
		}
		line := b[pos : pos+n-1]
		if len(line) == 0 {
			break
		}
		switch {
		case line[0] == ' ' || line[0] == '\t':
			if last != nil {
				*last = false
			}
		case string(line) == nosniffLine[:len(nosniffLine)-2]:
			hasNosniff, last = true, &hasNosniff
		case string(line) == noStoreLine[:len(noStoreLine)-2]:
			hasNoStore, last = true, &hasNoStore
		default:
			last = nil
		}
		pos += n + 1
	}
	if hasNosniff && hasNoStore {
		return nil, false
	}
	head, body := b[:pos], b[pos+2:] // head: through the last header line's CRLF
	code, err := strconv.Atoi(string(b[9:12]))
	if err != nil || code < 200 {
		return nil, false // interim answers (100 Continue) are not answers
	}
	fields := headerFields(head[lineEnd+2:])
	_, chunked := fields["transfer-encoding"]
	length, sized := fields["content-length"]
	if code >= 400 && bytes.Contains(bytes.ToLower(fields["connection"]), []byte("close")) && !chunked &&
		(!sized || string(length) == strconv.Itoa(len(body))) {
		msg := string(bytes.TrimSpace(body))
		if msg == "" {
			msg = strconv.Itoa(code) + " " + http.StatusText(code)
		}
		j, _ := json.Marshal(api.Error{Message: msg})
		j = append(j, '\n')
		out := make([]byte, 0, 200+len(j))
		out = append(out, b[:9]...) // "HTTP/1.x "
		out = append(out, strconv.Itoa(code)+" "+http.StatusText(code)+"\r\n"...)
		out = append(out, "Content-Type: application/json\r\n"+nosniffLine+noStoreLine+"Connection: close\r\nContent-Length: "...)
		out = strconv.AppendInt(out, int64(len(j)), 10)
		out = append(out, "\r\n\r\n"...)
		return append(out, j...), true
	}
	out := make([]byte, 0, len(b)+len(nosniffLine)+len(noStoreLine))
	out = append(out, b[:lineEnd+2]...)
	if !hasNosniff {
		out = append(out, nosniffLine...)
	}
	if !hasNoStore {
		out = append(out, noStoreLine...)
	}
	return append(out, b[lineEnd+2:]...), true
}

// headerFields returns the header fields of lines ("Name: value\r\n"…) by lower-case name; a name
// given twice keeps its first value.
func headerFields(lines []byte) map[string][]byte {
	f := map[string][]byte{}
	for len(lines) > 0 {
		line, rest, _ := bytes.Cut(lines, []byte("\r\n"))
		lines = rest
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		k := string(bytes.ToLower(bytes.TrimSpace(name)))
		if _, seen := f[k]; !seen {
			f[k] = bytes.TrimSpace(value)
		}
	}
	return f
}
