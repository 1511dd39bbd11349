package main

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
)

// TestDecodeLargeUnits: with a long unit (unit=1h) and a wide time field, an ID's time can lie past
// what a time can hold: decode refuses such an ID, naming it, instead of printing a date before the
// epoch or in the year -159,836,978; every time it prints is the epoch plus tick × unit exactly.
func TestDecodeLargeUnits(t *testing.T) {
	for _, spec := range []string{"time=50,seq=7,gen=6,unit=1h", "time=40,seq=12,gen=11,unit=1h", "time=61,seq=1,gen=1,unit=1h", "time=41,seq=12,gen=10,unit=10ms"} {
		l, err := snowfall.ParseLayout(spec)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{0, 1, 1<<62 - 1, 1 << 62, 1<<63 - 1, 4611686018427387904, 9223372036854775807 >> 1}
		var args []string
		for _, id := range ids {
			args = append(args, fmt.Sprint(id))
		}
		_, out, errs := runCmd(t, "", nil, append([]string{"decode", "--layout", spec}, args...)...)
		printed := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var d struct {
				ID     string `json:"id"`
				UnixMs int64  `json:"unix_ms"`
				Time   string `json:"time"`
			}
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("%s: %q: %v", spec, line, err)
			}
			printed[d.ID] = true
			var id big.Int
			id.SetString(d.ID, 10)
			tick := new(big.Int).Rsh(&id, uint(l.Bits(snowfall.FieldSequence)+l.Bits(snowfall.FieldGenerator)+l.Bits(snowfall.FieldDC)+l.Bits(snowfall.FieldWorker)))
			want := new(big.Int).Add(big.NewInt(l.EpochMs()), new(big.Int).Mul(tick, big.NewInt(l.Unit().Milliseconds())))
			if !want.IsInt64() || want.Int64() != d.UnixMs {
				t.Errorf("%s: ID %s decodes to unix_ms %d, want %s", spec, d.ID, d.UnixMs, want)
			}
			if tm, err := time.Parse(time.RFC3339Nano, d.Time); err != nil || tm.UnixMilli() != d.UnixMs {
				t.Errorf("%s: ID %s: time %q does not match unix_ms %d", spec, d.ID, d.Time, d.UnixMs)
			}
		}
		for _, id := range args {
			if !printed[id] && !strings.Contains(errs, id) {
				t.Errorf("%s: ID %s is neither decoded nor named in an error: %q", spec, id, errs)
			}
		}
	}
}

// TestDecodeLongLines: a line of standard input over 64 KB is reported as not an ID, and the lines
// after it are decoded (the scanner used to stop there).
func TestDecodeLongLines(t *testing.T) {
	in := "1\n" + strings.Repeat("7", 70_000) + "\n2\n" + strings.Repeat("x", 1<<20) + "\n3"
	code, out, errs := runCmd(t, in, nil, "decode")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 3 || !strings.Contains(out, `"id":"3"`) {
		t.Errorf("decoded %d lines, want 3 ending with ID 3: %q", n, out)
	}
	if code != 1 || !strings.Contains(errs, "2 malformed IDs") || len(errs) > 2000 {
		t.Errorf("exit %d, stderr %d bytes %.300q; want 1, two malformed IDs, and the long lines clipped", code, len(errs), errs)
	}
}

// TestDecodeLongLineNoClip (red team decode_clip.sh: the message about a line over 256 bytes quoted
// its first 32, and a clip right before a URL's '@' showed a two-letter password whole, or the
// first three letters of any, below the guard's four-letter piece): the message names the line by
// its number and length and quotes none of it, wherever the password lies.
func TestDecodeLongLineNoClip(t *testing.T) {
	leaks := 0
	for pad := 0; pad < 40; pad++ {
		for _, pw := range []string{"Qz", "hunter2zz"} {
			line := strings.Repeat("x", pad) + "postgres://rt_u:" + pw + "@127.0.0.1:5432/test " + strings.Repeat("y", 300)
			_, _, errs := runCmd(t, "1\n"+line+"\n", nil, "decode")
			if strings.Contains(errs, "rt_u:"+pw[:2]) {
				leaks++
				t.Errorf("pad %d: password %q shown (in part): %q", pad, pw, errs)
			}
			if strings.Contains(errs, "xx") || strings.Contains(errs, "yy") || !strings.Contains(errs, fmt.Sprintf("line 2 (%d bytes)", len(line))) {
				t.Errorf("pad %d, password %q: stderr %q: want line 2 named by its length, none of it quoted", pad, pw, errs)
			}
		}
	}
	t.Logf("leaks: %d of 80", leaks)
}
