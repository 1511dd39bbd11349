package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/snowfall-go/snowfall/internal/cli"
)

// pysnowflake's server is a Tornado application: its command line is parsed by tornado.options,
// which also defines logging options, and pysnowflake adds --address (its docs say --host),
// --num_processes and --debug. Tornado treats '_' and '-' in option names alike; so does this
// command. Every one of them is accepted, or refused with the reason.

// refusedProcesses explains why --num_processes above 1 is refused.
const refusedProcesses = "several processes with one dc and worker id repeat IDs (measured with pysnowflake: a quarter of them); " +
	"run one server per worker id instead, each with its own --worker"

// tornadoFlags are the Tornado and pysnowflake options beyond --dc, --worker, --host and --port.
type tornadoFlags struct {
	numProcesses     int
	debug            bool
	logging          string
	logFilePrefix    string
	logToStderr      bool
	logFileMaxSize   int64
	logFileBackups   int
	logRotateWhen    string
	logRotateIntvl   int
	logRotateMode    string
	rotationSettings []string // the rotation options given; this command does not rotate its log file
}

func (tf *tornadoFlags) register(fs *flag.FlagSet, host *string) {
	fs.StringVar(host, "address", "localhost", "address to listen on (pysnowflake's name for --host)")
	fs.IntVar(&tf.numProcesses, "num-processes", 1, "Tornado's process count: only 1 is allowed ("+refusedProcesses+")")
	fs.BoolVar(&tf.debug, "debug", false, "log debug records (Tornado's debug mode; there is no autoreload)")
	fs.StringVar(&tf.logging, "logging", "info", "log level: debug, info, warning, error or none (Tornado's --logging)")
	fs.StringVar(&tf.logFilePrefix, "log-file-prefix", "", "append the log to this file instead of stderr (Tornado's option; the file is not rotated)")
	fs.BoolVar(&tf.logToStderr, "log-to-stderr", false, "with --log-file-prefix, log to stderr too")
	fs.Int64Var(&tf.logFileMaxSize, "log-file-max-size", 100_000_000, "accepted for Tornado compatibility; the log file is not rotated")
	fs.IntVar(&tf.logFileBackups, "log-file-num-backups", 10, "accepted for Tornado compatibility; the log file is not rotated")
	fs.StringVar(&tf.logRotateWhen, "log-rotate-when", "midnight", "accepted for Tornado compatibility; the log file is not rotated")
	fs.IntVar(&tf.logRotateIntvl, "log-rotate-interval", 1, "accepted for Tornado compatibility; the log file is not rotated")
	fs.StringVar(&tf.logRotateMode, "log-rotate-mode", "size", "accepted for Tornado compatibility (size or time); the log file is not rotated")
}

// tornadoArgs turns a command-line word such as --log_file_prefix=x into --log-file-prefix=x: only
// the option name changes, never its value. Words that are not options are returned as they are.
func tornadoArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" || a == "-" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		name = strings.ReplaceAll(name, "_", "-")
		if hasValue {
			name += "=" + value
		}
		out = append(out, name)
	}
	return out
}

// check validates the options once parsed; errors are UsageErrors.
func (tf *tornadoFlags) check(fs *flag.FlagSet) error {
	if tf.numProcesses != 1 {
		what := fmt.Sprintf("%d processes", tf.numProcesses)
		if tf.numProcesses <= 0 {
			what = "one process per CPU core"
		}
		return cli.Usagef("--num_processes %d (%s) refused: %s", tf.numProcesses, what, refusedProcesses)
	}
	switch strings.ToLower(tf.logging) {
	case "debug", "info", "warning", "error", "none":
	default:
		return cli.Usagef("--logging %q: want debug, info, warning, error or none", tf.logging)
	}
	switch tf.logRotateMode {
	case "size", "time":
	default:
		return cli.Usagef("--log_rotate_mode %q: want size or time", tf.logRotateMode)
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "log-file-max-size", "log-file-num-backups", "log-rotate-when", "log-rotate-interval", "log-rotate-mode":
			tf.rotationSettings = append(tf.rotationSettings, "--"+strings.ReplaceAll(f.Name, "-", "_"))
		}
	})
	return nil
}

// logger returns the logger the options ask for, in format ("text" or "json"), and a function that
// closes the log file, if any. The log file is written through guard, the run's guard (cli.IO's
// Guard), as stderr is: without one, it is refused.
func (tf *tornadoFlags) logger(format string, stderr io.Writer, guard func(io.Writer) io.Writer) (*slog.Logger, func(), error) {
	level := slog.LevelInfo
	switch strings.ToLower(tf.logging) {
	case "debug":
		level = slog.LevelDebug
	case "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	if tf.debug {
		level = slog.LevelDebug
	}
	w, closeFn := stderr, func() {}
	if strings.EqualFold(tf.logging, "none") {
		w = io.Discard
	} else if tf.logFilePrefix != "" {
		if guard == nil {
			return nil, nil, errors.New("--log_file_prefix: no guard to write the log file through")
		}
		f, err := os.OpenFile(tf.logFilePrefix, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--log_file_prefix: %w", err)
		}
		w, closeFn = guard(f), func() { f.Close() }
		if tf.logToStderr {
			w = io.MultiWriter(w, stderr)
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	switch format {
	case "", "text":
		log = slog.New(slog.NewTextHandler(w, opts))
	case "json":
		log = slog.New(slog.NewJSONHandler(w, opts))
	default:
		closeFn()
		return nil, nil, cli.Usagef("--log-format: log format %q: want text or json", format)
	}
	if len(tf.rotationSettings) > 0 {
		log.Warn("log rotation options accepted but not applied: the log file is not rotated (rotate it with logrotate's copytruncate)",
			"options", strings.Join(tf.rotationSettings, " "))
	}
	if tf.debug {
		log.Debug("--debug: debug records on; Tornado's autoreload has no equivalent here")
	}
	return log, closeFn, nil
}
