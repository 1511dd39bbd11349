// Package redact hides the passwords of database URLs and DSNs: in the URL itself (DSN), and in any
// message or log record that may repeat it (Scrub, Error, Handler). Every form counts: URLs with a
// password in the userinfo or in a query parameter (?password=, ?sslpassword=…), URLs without a
// scheme, unparsable URLs, and key=value DSNs (password=… or password='…').
package redact

import (
	"context"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// Mask stands for a hidden password.
const Mask = "xxxxx"

// param matches a password parameter, in a query (?password=…&) or a key=value DSN
// (password=… or password='…'), capturing its value.
var param = regexp.MustCompile(`(?i)(?:^|[?&;,\s])(?:password|passwd|pass|pwd|sslpassword|sslkeypassword)\s*=\s*('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^&;,\s]*)`)

// spans returns the byte ranges of dsn that hold secrets, sorted and not overlapping.
func spans(dsn string) [][2]int {
	var out [][2]int
	// Userinfo: after "//" (or from the start when there is none), up to the last '@': the
	// password is what follows the first ':'. Taking the last '@' hides too much rather than
	// too little when a password holds an unescaped '@'.
	start := 0
	if i := strings.Index(dsn, "//"); i >= 0 {
		start = i + 2
	}
	if at := strings.LastIndexByte(dsn[start:], '@'); at >= 0 {
		if c := strings.IndexByte(dsn[start:start+at], ':'); c >= 0 && c+1 < at {
			out = append(out, [2]int{start + c + 1, start + at})
		}
	}
	for _, m := range param.FindAllStringSubmatchIndex(dsn, -1) {
		if m[3] > m[2] {
			out = append(out, [2]int{m[2], m[3]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	merged := out[:0]
	for _, s := range out {
		if n := len(merged); n > 0 && s[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], s[1])
			continue
		}
		merged = append(merged, s)
	}
	return merged
}

// DSN returns dsn with every password replaced by Mask. It never fails: text it cannot parse is
// redacted by the same rules.
func DSN(dsn string) string {
	sp := spans(dsn)
	if len(sp) == 0 {
		return dsn
	}
	var b strings.Builder
	last := 0
	for _, s := range sp {
		b.WriteString(dsn[last:s[0]])
		b.WriteString(Mask)
		last = s[1]
	}
	b.WriteString(dsn[last:])
	return b.String()
}

// Secrets returns the passwords in dsn, as written and decoded (URL escapes, quotes), longest
// first, for Scrub.
func Secrets(dsn string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && s != Mask && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range spans(dsn) {
		v := dsn[s[0]:s[1]]
		add(v)
		if u, err := url.PathUnescape(v); err == nil {
			add(u)
		}
		if u, err := url.QueryUnescape(v); err == nil {
			add(u)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
			inner := strings.Trim(v, `'"`)
			add(inner)
			add(strings.NewReplacer(`\'`, `'`, `\"`, `"`, `\\`, `\`).Replace(inner))
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// Scrub returns s with each of secrets replaced by Mask.
func Scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// Error returns err with its message scrubbed of secrets; errors.Is and errors.As still see the
// original chain. It returns nil for nil.
func Error(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &scrubbed{err: err, msg: Scrub(err.Error(), secrets)}
}

type scrubbed struct {
	err error
	msg string
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Handler returns a handler that scrubs secrets from each record's message and attributes before
// passing it to h.
func Handler(h slog.Handler, secrets []string) slog.Handler {
	if len(secrets) == 0 {
		return h
	}
	return &handler{h: h, secrets: secrets}
}

type handler struct {
	h       slog.Handler
	secrets []string
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	nr := slog.NewRecord(r.Time, r.Level, Scrub(r.Message, h.secrets), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		nr.AddAttrs(h.attr(a))
		return true
	})
	return h.h.Handle(ctx, nr)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(v.String(), h.secrets))
	case slog.KindGroup:
		as := v.Group()
		out := make([]any, len(as))
		for i, x := range as {
			out[i] = h.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error(), h.secrets))
		}
		return slog.String(a.Key, Scrub(v.String(), h.secrets))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return &handler{h: h.h.WithAttrs(out), secrets: h.secrets}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{h: h.h.WithGroup(name), secrets: h.secrets}
}
