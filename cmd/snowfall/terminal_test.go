package main

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/snowfall-go/snowfall"
	"github.com/snowfall-go/snowfall/internal/testkit/leakcheck"
	"github.com/snowfall-go/snowfall/internal/testkit/leasetest"
	"github.com/snowfall-go/snowfall/sqlassign"
)

// hostilePieces are what generated outside text is made of: C0 and C1 controls, ESC sequences
// (colours, a cursor move, a window title, a screen clear), bidirectional overrides and isolates,
// DEL, bytes that are not UTF-8, quotes, spaces and plain letters.
var hostilePieces = []string{
	"\x1b[31m", "\x1b[2J", "\x1b]0;owned\x07", "\x1b[1A", "\x1bc", "\r", "\n", "\t", "\b", "\x00", "\x07", "\x7f",
	"\u0085", "\u009b31m", "\u202e", "\u202a", "\u2066", "\u2069", "\u061c", "\u200e", "\u2028",
	"\xff", "\xc3", `"`, `\`, " ", "web", "-7", "é", "中",
}

func hostile(r *rand.Rand) string {
	var b strings.Builder
	for range 1 + r.IntN(6) {
		b.WriteString(hostilePieces[r.IntN(len(hostilePieces))])
	}
	return b.String()
}

// terminalSafe returns why out could command a terminal, or "": a control character other than
// newline, a C1 control, a bidirectional control, or a byte that is not UTF-8.
func terminalSafe(out string) string {
	for i, r := range out {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(out[i:], "\uFFFD"):
			return "a byte that is not UTF-8 at " + strconv.Itoa(i)
		case r < 0x20 && r != '\n', r == 0x7f, r >= 0x80 && r < 0xa0:
			return "control character " + strconv.QuoteRune(r) + " at " + strconv.Itoa(i)
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x061c, r == 0x200e, r == 0x200f, r == 0x2028, r == 0x2029:
			return "bidirectional or line control " + strconv.QuoteRune(r) + " at " + strconv.Itoa(i)
		}
	}
	return ""
}

// TestLeasesHostileHosts (issue: snowfall leases printed the store's text verbatim): host names
// generated from controls, ESC sequences, bidi overrides and bytes that are not UTF-8 are printed
// with every control escaped, one line per lease, the host one field that reads back (plain, or
// Go-quoted) to the name the store holds. Seeded: SNOWFALL_TERMINAL_SEED.
func TestLeasesHostileHosts(t *testing.T) {
	seed := uint64(leakcheck.EnvNum(t, "SNOWFALL_TERMINAL_SEED", 1))
	r := rand.New(rand.NewPCG(seed, 0))
	db := "sqlite://" + filepath.Join(t.TempDir(), "leases.db")
	ctx := context.Background()
	a, err := sqlassign.Open(ctx, db, sqlassign.Options{Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := snowfall.ReadManifest(ctx, a, snowfall.Manifest{}); err != nil {
		t.Fatal(err)
	}
	const n = 40
	hosts, pids := map[int64]string{}, map[int64]string{}
	for i := range n {
		h := hostile(r)
		c, err := leasetest.ClaimFirst(ctx, a, 1024, snowfall.ClaimRequest{Token: "t" + strconv.Itoa(i), Lease: time.Hour, Now: time.Now(),
			Ahead: time.Second, Holder: snowfall.Holder{Host: h, PID: int64(100 + i)}})
		if err != nil {
			t.Fatal(err)
		}
		hosts[c.ID] = h
		pids[c.ID] = strconv.Itoa(100 + i)
	}
	code, out, errs := runCmd(t, "", nil, "leases", "--db", db, "--group", "g")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if why := terminalSafe(out + errs); why != "" {
		t.Errorf("the output holds %s:\n%q", why, out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != n+1 {
		t.Fatalf("%d lines, want %d (a header and one per lease):\n%s", len(lines), n+1, out)
	}
	for _, line := range lines[1:] {
		idText, rest, _ := strings.Cut(line, " ")
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil {
			t.Fatalf("line %q: no id", line)
		}
		rest = strings.TrimLeft(rest, " ")
		host, tail := rest, ""
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				t.Fatalf("line %q: the host is not Go-quoted: %v", line, err)
			}
			host, tail = q, rest[len(q):]
			if host, err = strconv.Unquote(q); err != nil {
				t.Fatal(err)
			}
		} else {
			host, tail, _ = strings.Cut(rest, " ")
		}
		if host != hosts[id] {
			t.Errorf("line %q: host reads back as %q, the store holds %q", line, host, hosts[id])
		}
		if f := strings.Fields(tail); len(f) != 5 || f[0] != pids[id] {
			t.Errorf("line %q: want the pid %s and 4 times after the host, got %q", line, pids[id], f)
		}
	}
}

// TestProbeHostileAnswer: probe prints a server's status and body on one line with every control
// escaped, on success and on failure (stderr).
func TestProbeHostileAnswer(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 0))
	for i := range 30 {
		body := hostile(r) + "\n" + hostile(r)
		code := []int{200, 503}[i%2]
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(code)
			w.Write([]byte(body))
		}))
		exit, out, errs := runCmd(t, "", nil, "probe", "--server", s.URL)
		s.Close()
		if why := terminalSafe(out + errs); why != "" {
			t.Errorf("body %q: the output holds %s: %q %q", body, why, out, errs)
		}
		if exit == 0 && strings.Count(out, "\n") != 1 || exit != 0 && strings.Count(errs, "\n") != 1 {
			t.Errorf("body %q: exit %d, stdout %q, stderr %q: want one line", body, exit, out, errs)
		}
	}
}
