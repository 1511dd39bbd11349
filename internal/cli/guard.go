package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"os"
	"strings"
	"sync"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// Guarded runs cmd on args, rendering everything through one guard: whatever it writes to stdout
// or stderr, and the message of the error it returns, has every word that holds a piece of a
// password found in its input (the arguments, the environment values it reads, the lines it reads
// from stdin, and the proxy variables Go's net/http reads on its own: ownEnv) replaced
// (redact.Secrets), and every control character escaped (Printable), whichever message quoted it.
// Every command of the project (snowfall, snowflake_start_server) runs through
// it. The commands themselves keep passwords out by construction (redact.URL, fixed words for what
// does not parse); the guard is the property checked at the one place where text leaves the
// process. The returned error's Unwrap is cmd's error.
func Guarded(ctx context.Context, args []string, sio IO, cmd func(context.Context, []string, IO) error) error {
	g := &guard{}
	for _, a := range args {
		g.secrets.Add(a)
	}
	g.secrets.Add(strings.Join(args, " ")) // a password split into words by a missing quote
	// What libraries read of the environment past any Getenv: in the process, os's environment
	// (net/http's own read); in a test, whose Getenv stands for the environment, that one too, so
	// that the guard of a test run learns what a process run with that environment would.
	for _, getenv := range []func(string) string{os.Getenv, sio.Getenv} {
		if getenv == nil {
			continue
		}
		for _, k := range ownEnv {
			if v := getenv(k); v != "" {
				g.secrets.Add(v)
				g.secrets.Add("http://" + v) // a proxy without a scheme, as net/http reads it
			}
		}
		if v := getenv(ownPassword); v != "" {
			g.secrets.Add("password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'")
		}
	}
	out, errw := g.writer(sio.Out), g.writer(sio.Err)
	var mu sync.Mutex
	var others []*lineWriter
	gio := IO{In: sio.In, Out: out, Err: errw, Getenv: sio.Getenv, Guard: func(w io.Writer) io.Writer {
		lw := g.writer(w)
		mu.Lock()
		others = append(others, lw)
		mu.Unlock()
		return lw
	}}
	if sio.In != nil {
		gio.In = &inputReader{r: sio.In, g: g}
	}
	if sio.Getenv != nil {
		gio.Getenv = func(k string) string {
			v := sio.Getenv(k)
			g.secrets.Add(v)
			return v
		}
	}
	err := cmd(ctx, args, gio)
	out.Flush()
	errw.Flush()
	mu.Lock()
	for _, lw := range others { // what a command wrote without a newline, before it closed the file
		lw.Flush()
	}
	mu.Unlock()
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &shownError{err: err, msg: Printable(g.secrets.Words(err.Error()), false)}
}

// ownEnv are the environment variables Go's libraries read on their own, from os's environment
// and never through a command's Getenv: net/http's http.ProxyFromEnvironment (the client's
// transport, grpc's dialer of the etcd client) reads the proxy of each scheme, in upper or lower
// case, and sends the user-information of its URL as the Proxy-Authorization header (HTTP Basic:
// base64 of user:password), which a proxy may echo in the answer a command prints. A proxy URL
// without a scheme is read as http://. NO_PROXY, which it reads too, and ALL_PROXY, which curl and
// golang.org/x/net/proxy read (net/http does not), are learnt as well, at no cost; REQUEST_METHOD,
// the last it reads, is a flag. (pgx's PGPASSWORD: see ownPassword.)
var ownEnv = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"}

// ownPassword is the environment variable holding a bare password that a driver reads on its own:
// pgx sends PGPASSWORD when a PostgreSQL URL names none.
const ownPassword = "PGPASSWORD"

// Process runs cmd through Guarded as a process's main does: Go's standard logger (package log,
// and log/slog's default handler, which writes through it), where libraries write on their own
// (net/http's HTTP/2 debug lines under GODEBUG=http2debug=2, which show the Authorization header
// it sends; its server's errors), is pointed at the guard's stderr from the start of the run to the
// end of the process. Only a main calls it: the standard logger is the process's.
func Process(ctx context.Context, args []string, sio IO, cmd func(context.Context, []string, IO) error) error {
	return Guarded(ctx, args, sio, func(ctx context.Context, args []string, gio IO) error {
		log.SetOutput(gio.Err)
		return cmd(ctx, args, gio)
	})
}

// guard holds the secrets of one run.
type guard struct{ secrets redact.Secrets }

// shownError is a command's error as the guard renders it; the error itself is its Unwrap.
type shownError struct {
	err error
	msg string
}

func (e *shownError) Error() string { return e.msg }
func (e *shownError) Unwrap() error { return e.err }

// lineWriter writes whole lines, each through the guard; Flush writes the rest.
type lineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	g   *guard
	buf []byte
}

func (g *guard) writer(w io.Writer) *lineWriter {
	if w == nil {
		w = io.Discard
	}
	return &lineWriter{w: w, g: g}
}

// maxHeld is how much of a line without a newline the writer holds before writing it.
const maxHeld = 64 << 10

func (lw *lineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	end := bytes.LastIndexByte(lw.buf, '\n') + 1
	if end == 0 && len(lw.buf) >= maxHeld {
		end = len(lw.buf)
	}
	if end == 0 {
		return len(p), nil
	}
	if err := lw.emit(lw.buf[:end]); err != nil {
		return 0, err
	}
	lw.buf = append(lw.buf[:0], lw.buf[end:]...)
	return len(p), nil
}

// Flush writes what is held.
func (lw *lineWriter) Flush() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	err := lw.emit(lw.buf)
	lw.buf = lw.buf[:0]
	return err
}

func (lw *lineWriter) emit(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	if lw.g.secrets.Empty() && plain(b) {
		_, err := lw.w.Write(b)
		return err
	}
	_, err := io.WriteString(lw.w, Printable(lw.g.secrets.Words(string(b)), true))
	return err
}

// plain reports whether b holds only printable ASCII, tabs and newlines, and nothing that could
// carry a password of its own ('@', '=').
func plain(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f || c == '@' || c == '=' {
			return false
		}
	}
	return true
}

// inputReader adds the passwords of each line it reads to the guard before the command sees it.
type inputReader struct {
	r    io.Reader
	g    *guard
	tail []byte // the line read in part
}

func (ir *inputReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	ir.tail = append(ir.tail, p[:n]...)
	if i := bytes.LastIndexByte(ir.tail, '\n'); i >= 0 {
		for _, line := range bytes.Split(ir.tail[:i], []byte{'\n'}) {
			ir.g.secrets.Add(string(line))
		}
		ir.tail = append(ir.tail[:0], ir.tail[i+1:]...)
	}
	if len(ir.tail) > maxHeld || (err != nil && len(ir.tail) > 0) {
		ir.g.secrets.Add(string(ir.tail))
		ir.tail = append(ir.tail[:0], ir.tail[len(ir.tail)-min(len(ir.tail), 256):]...) // a password across the cut
	}
	return n, err
}
