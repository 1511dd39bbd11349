package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/snowfall-go/snowfall"
)

// NewLogger returns a logger writing text ("text" or "") or JSON ("json") records to w.
func NewLogger(format string, w io.Writer) (*slog.Logger, error) {
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, nil)), nil
	}
	return nil, fmt.Errorf("log format %q: want text or json", format)
}

// LifetimeWarning is how close to its end a layout must be for WarnLifetime to warn.
const LifetimeWarning = 365 * 24 * time.Hour

// WarnLifetime logs a warning when layout l has less than LifetimeWarning left at now, and reports
// whether it did.
func WarnLifetime(log *slog.Logger, l snowfall.Layout, now time.Time) bool {
	left := l.End().Sub(now)
	if left >= LifetimeWarning {
		return false
	}
	log.Warn("the layout's time field runs out in less than a year; plan a new epoch or layout",
		"layout", l.String(), "end", l.End().Format(time.RFC3339), "left", left.Round(time.Second).String())
	return true
}

// Listen listens on TCP host:port; port 0 picks a free port.
func Listen(ctx context.Context, host string, port int) (net.Listener, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("server: listen: %w", err)
	}
	return ln, nil
}

// ListenMessage is the line the commands print once they listen, with the address (host:port)
// filled in; tests read it back.
const ListenMessage = "listening on http://%s\n"

// ParseListen returns the address in a line printed with ListenMessage.
func ParseListen(line string) (addr string, ok bool) {
	var a string
	if _, err := fmt.Sscanf(line, "listening on http://%s", &a); err != nil || a == "" {
		return "", false
	}
	return a, true
}
