package main

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// driverLog passes go-sql-driver/mysql's own log lines ("packets.go:58: unexpected EOF", "closing
// bad idle connection") to serve's logger at WARN, where they would otherwise go to stderr past
// it, with "[mysql]" and no structure. The driver's words name no password; still, the lease
// URL's password and the URL itself are blotted out of them should they ever appear.
type driverLog struct {
	log     *slog.Logger
	secrets []string
}

// routeMySQLLog makes log the driver's logger for the connections opened from then on, blotting
// out db's password and text, and returns it.
func routeMySQLLog(log *slog.Logger, db redact.URL) driverLog {
	d := driverLog{log: log}
	if !db.IsZero() {
		raw := db.Raw()
		d.secrets = append(d.secrets, raw)
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				d.secrets = append(d.secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
			}
		}
	}
	mysql.SetLogger(d)
	return d
}

// Print logs v as log.Print would format it (the driver starts most lines with its source line,
// "packets.go:58 unexpected EOF").
func (d driverLog) Print(v ...any) {
	msg := strings.TrimSpace(fmt.Sprint(v...))
	for _, s := range d.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	d.log.Warn("mysql driver", "detail", msg)
}
