package idsource

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall/internal/server"
)

// ListenConfig says where and how to serve a source.
type ListenConfig struct {
	Host string
	Port int // 0 picks a free port
	// MaxConns is how many connections are served at once; zero means server.DefaultMaxConns.
	MaxConns int
	// Out receives listenMessage once the server listens.
	Out io.Writer
}

// Listener is an HTTP server for a source, listening; Serve serves it.
type Listener struct {
	srv *server.Server
	ln  net.Listener
}

// Listen builds the HTTP server for src (logging to the source's logger), warns when the layout
// runs out within a year, listens on TCP cfg.Host:cfg.Port and prints listenMessage to
// cfg.Out. Errors: the server's settings, or "server: listen: …".
func Listen(ctx context.Context, src *Source, cfg ListenConfig) (*Listener, error) {
	srv, err := server.New(server.Config{Source: src.src, Logger: src.log, MaxConns: cfg.MaxConns, UniqueAmong: src.uniqueAmong})
	if err != nil {
		return nil, err
	}
	warnLifetime(src.log, src.src.Layout(), time.Now())
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	fmt.Fprintf(cfg.Out, listenMessage, ln.Addr())
	return &Listener{srv: srv, ln: ln}, nil
}

// Serve serves HTTP until ctx is done, then shuts down gracefully (see server.Server.Serve).
func (l *Listener) Serve(ctx context.Context) error { return l.srv.Serve(ctx, l.ln) }

// listenMessage is the line the commands print once they listen, with the address (host:port)
// filled in; tests read it back.
const listenMessage = "listening on http://%s\n"

// ParseListen returns the address in a line printed with listenMessage.
func ParseListen(line string) (addr string, ok bool) {
	var a string
	if _, err := fmt.Sscanf(line, "listening on http://%s", &a); err != nil || a == "" {
		return "", false
	}
	return a, true
}
