package idsource

import (
	"fmt"
	"io"
	"log/slog"
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

// lifetimeWarning is how close to its end a layout must be for warnLifetime to warn.
const lifetimeWarning = 365 * 24 * time.Hour

// warnLifetime logs a warning when layout l has less than lifetimeWarning left at now.
func warnLifetime(log *slog.Logger, l snowfall.Layout, now time.Time) {
	left := l.End().Sub(now)
	if left >= lifetimeWarning {
		return
	}
	log.Warn("the layout's time field runs out in less than a year; plan a new epoch or layout",
		"layout", l.String(), "end", l.End().Format(time.RFC3339), "left", left.Round(time.Second).String())
}
