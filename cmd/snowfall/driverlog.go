package main

import (
	"fmt"
	"log"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// The MySQL driver's logger is a variable of its package, copied into each connection's settings
// when its DSN is parsed, and written without a lock. So it is set once, here, before any
// goroutine can open a connection, to mysqlForward; serve then points mysqlTarget at its logger.
func init() { mysql.SetLogger(mysqlForward{}) }

// mysqlTarget is where the driver's lines go: nil means stderr with "[mysql]", as the driver
// writes them itself. One process serves once, so one target is enough; in-process tests that run
// several servers at once see each other's driver lines.
var mysqlTarget atomic.Pointer[driverLog]

// mysqlStderr is the driver's own default logger, writing where Go's standard logger writes at
// the time (main points it at the guard's stderr, cli.Process), not at os.Stderr past the guard.
func mysqlStderr() *log.Logger { return log.New(log.Writer(), "[mysql] ", log.Ldate|log.Ltime) }

// mysqlForward passes the driver's lines to mysqlTarget.
type mysqlForward struct{}

func (mysqlForward) Print(v ...any) {
	if d := mysqlTarget.Load(); d != nil {
		d.Print(v...)
		return
	}
	mysqlStderr().Print(v...)
}

// driverLog passes go-sql-driver/mysql's own log lines ("packets.go:58 unexpected EOF", "closing
// bad idle connection") to serve's logger at WARN, where they would otherwise go to stderr past
// it, with "[mysql]" and no structure. The driver's words name no password; still, the lease
// URL's password and the URL itself are blotted out of them should they ever appear.
type driverLog struct {
	log     *slog.Logger
	secrets []string
}

// routeMySQLLog sends the driver's lines to log from now on, blotting out db's password and text,
// and returns the driverLog that does it.
func routeMySQLLog(log *slog.Logger, db redact.URL) *driverLog {
	d := &driverLog{log: log}
	if !db.IsZero() {
		raw := db.Raw()
		d.secrets = append(d.secrets, raw)
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				d.secrets = append(d.secrets, pw, url.PathEscape(pw), url.QueryEscape(pw))
			}
		}
	}
	mysqlTarget.Store(d)
	return d
}

// Print logs v as log.Print would format it (the driver starts most lines with its source line,
// "packets.go:58 unexpected EOF").
func (d *driverLog) Print(v ...any) {
	msg := strings.TrimSpace(fmt.Sprint(v...))
	for _, s := range d.secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	d.log.Warn("mysql driver", "detail", msg)
}
