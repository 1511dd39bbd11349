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
	// AdminAddr, if set, is the host:port of the admin listener (see server.Server.ServeAdmin).
	AdminAddr string
	// DrainDelay and ShutdownTimeout are server.Config's.
	DrainDelay      time.Duration
	ShutdownTimeout time.Duration
	// Hurry, when closed, ends the drain delay (a second signal); nil never is.
	Hurry <-chan struct{}
	// Out receives listenMessage once the server listens, then adminMessage for AdminAddr.
	Out io.Writer
}

// Listener is an HTTP server for a source, listening; Serve serves it.
type Listener struct {
	srv   *server.Server
	src   *Source
	ln    net.Listener
	admin net.Listener // nil without AdminAddr
	hurry <-chan struct{}
}

// Listen builds the HTTP server for src (logging to the source's logger), warns when the layout
// runs out within a year, listens on TCP cfg.Host:cfg.Port and prints listenMessage to
// cfg.Out. Errors: the server's settings, or "server: listen: …".
func Listen(ctx context.Context, src *Source, cfg ListenConfig) (*Listener, error) {
	srv, err := server.New(server.Config{Source: src.src, Logger: src.log, MaxConns: cfg.MaxConns,
		DrainDelay: cfg.DrainDelay, ShutdownTimeout: cfg.ShutdownTimeout})
	if err != nil {
		return nil, err
	}
	if l := src.src.Layout(); !l.IsZero() { // else the background start warns once it knows it
		warnLifetime(src.log, l, time.Now())
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	var admin net.Listener
	if cfg.AdminAddr != "" {
		if admin, err = lc.Listen(ctx, "tcp", cfg.AdminAddr); err != nil {
			ln.Close()
			return nil, fmt.Errorf("server: listen on the admin address: %w", err)
		}
	}
	fmt.Fprintf(cfg.Out, listenMessage, ln.Addr())
	if admin != nil {
		fmt.Fprintf(cfg.Out, adminMessage, admin.Addr())
	}
	return &Listener{srv: srv, src: src, ln: ln, admin: admin, hurry: cfg.Hurry}, nil
}

// Serve serves HTTP until ctx is done, then drains and shuts down gracefully (see
// server.Server.ServeAdmin); Hurry ends the drain delay. When the source's background start fails
// for good (Source.Failed), it stops at once and returns that error.
func (l *Listener) Serve(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served, watched := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watched)
		for failed, hurry := l.src.Failed(), l.hurry; ; {
			select {
			case <-failed:
				l.srv.SkipDrain() // it never was ready: nothing to drain
				cancel()
				failed = nil
			case <-hurry:
				l.srv.SkipDrain()
				hurry = nil
			case <-served:
				return
			}
		}
	}()
	err := l.srv.ServeAdmin(sctx, l.ln, l.admin)
	close(served)
	<-watched
	if ferr := l.src.Err(); ferr != nil {
		return ferr
	}
	return err
}

// listenMessage is the line the commands print once they listen, with the address (host:port)
// filled in; tests read it back. adminMessage follows it for the admin listener.
const (
	listenMessage = "listening on http://%s\n"
	adminMessage  = "admin endpoints on http://%s\n"
)

// ParseAdmin returns the address in a line printed with adminMessage.
func ParseAdmin(line string) (addr string, ok bool) {
	var a string
	if _, err := fmt.Sscanf(line, "admin endpoints on http://%s", &a); err != nil || a == "" {
		return "", false
	}
	return a, true
}

// ParseListen returns the address in a line printed with listenMessage.
func ParseListen(line string) (addr string, ok bool) {
	var a string
	if _, err := fmt.Sscanf(line, "listening on http://%s", &a); err != nil || a == "" {
		return "", false
	}
	return a, true
}
