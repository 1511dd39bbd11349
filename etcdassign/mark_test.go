package etcdassign_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// rawClient returns a client of the test cluster that bypasses the Assigner, to put the store in
// states the Assigner never makes (a hand-typed etcdctl put, a restored snapshot).
func rawClient(t *testing.T) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(endpoints(), ","), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// markState is a state of mark/<id> that the test puts before a renewal.
type markState struct {
	kind    string
	missing bool
	value   string
}

// genMarkState generates a state of mark/<id> around asked, the mark (ms) the renewal will ask
// for: a missing key, well-formed marks below and above it, and the forms a hand or a tool can
// write: other widths, spaces, signs, other characters, numbers past int64.
func genMarkState(rng *rand.Rand, asked int64) markState {
	near := func() int64 { // a mark within a day of asked, on either side
		return max(asked+rng.Int64N(2*86_400_000)-86_400_000, 0)
	}
	num := func() string {
		switch rng.IntN(4) {
		case 0:
			return strconv.FormatInt(near(), 10)
		case 1:
			return fmt.Sprintf("%020d", near())
		case 2:
			return strconv.FormatInt(rng.Int64N(1000), 10)
		default:
			return strconv.FormatInt(rng.Int64(), 10)
		}
	}
	spaces := []string{" ", "  ", "\t", "\n", "\r\n", "\x00", "\u00a0"}
	switch rng.IntN(12) {
	case 0:
		return markState{kind: "missing", missing: true}
	case 1:
		return markState{kind: "padded", value: fmt.Sprintf("%020d", near())}
	case 2:
		w := 1 + rng.IntN(30) // zero-padded to another width
		return markState{kind: "width", value: fmt.Sprintf("%0*d", w, near())}
	case 3:
		return markState{kind: "unpadded", value: strconv.FormatInt(near(), 10)}
	case 4:
		return markState{kind: "small", value: strconv.FormatInt(rng.Int64N(1_000_000), 10)}
	case 5:
		return markState{kind: "leading space", value: spaces[rng.IntN(len(spaces))] + num()}
	case 6:
		return markState{kind: "trailing space", value: num() + spaces[rng.IntN(len(spaces))]}
	case 7:
		signs := []string{"-", "+", "--", "-0"}
		return markState{kind: "sign", value: signs[rng.IntN(len(signs))] + num()}
	case 8: // past int64: 19 to 40 digits, the first not zero
		var b strings.Builder
		b.WriteByte(byte('1' + rng.IntN(9)))
		for range 18 + rng.IntN(22) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return markState{kind: "huge", value: b.String()}
	case 9:
		forms := []string{"", "0x%x", "%d.5", "%de0", "1_%d", "%d ms", "%d,000", "%dZ", "٣%d", "1e%d"}
		f := forms[rng.IntN(len(forms))]
		if !strings.Contains(f, "%") {
			return markState{kind: "non-numeric", value: f}
		}
		return markState{kind: "non-numeric", value: fmt.Sprintf(f, near())}
	case 10: // random bytes
		b := make([]byte, 1+rng.IntN(24))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return markState{kind: "bytes", value: string(b)}
	default:
		return markState{kind: "near int64", value: strconv.FormatInt(math.MaxInt64-rng.Int64N(3), 10)}
	}
}

// number is the test's own reading of a stored mark, independent of the package's: decimal
// digits only, of any width and size.
func number(v string) (*big.Int, bool) {
	if v == "" {
		return nil, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return nil, false
		}
	}
	n, ok := new(big.Int).SetString(v, 10)
	return n, ok
}

// TestRenewRaisesMark checks the property a renewal rests on, over generated states of
// mark/<id>: a renewal that succeeds leaves a stored mark that is a number >= the mark it asked
// for (and >= the one stored before: marks only rise); a stored value that is not a number of
// milliseconds (a sign, spaces, other characters, past int64) makes the renewal fail, naming the
// key, and stays as it was; a missing key or a number of any width is raised and the renewal
// succeeds.
//
// SNOWFALL_ETCD_MARK_SEED replays one seed; SNOWFALL_ETCD_MARK_CASES sets the number of cases.
func TestRenewRaisesMark(t *testing.T) {
	seed := uint64(1)
	if s := os.Getenv("SNOWFALL_ETCD_MARK_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SNOWFALL_ETCD_MARK_SEED=%q: %v", s, err)
		}
		seed = n
	}
	cases := 120
	if s := os.Getenv("SNOWFALL_ETCD_MARK_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("SNOWFALL_ETCD_MARK_CASES=%q: want a positive number", s)
		}
		cases = n
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x3a7c))
	g := group()
	a := open(t, etcdURL(), g)
	other := open(t, etcdURL(), g) // renews tenures it did not claim (a restarted process's view)
	raw := rawClient(t)
	ctx := t.Context()
	size := int64(cases)
	replay := fmt.Sprintf("SNOWFALL_ETCD_MARK_SEED=%d go test -run TestRenewRaisesMark ./etcdassign", seed)
	kinds := map[string]int{}
	for i := range cases {
		now := time.Now().Truncate(time.Millisecond)
		token := fmt.Sprintf("tok%d", i)
		c := claim(t, a, size, token, now, time.Second)
		key := a.Prefix() + "mark/" + strconv.FormatInt(c.ID, 10)
		asked := now.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		st := genMarkState(rng, asked.UnixMilli())
		kinds[st.kind]++
		if st.missing {
			if _, err := raw.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
		} else if _, err := raw.Put(ctx, key, st.value); err != nil {
			t.Fatal(err)
		}
		via := a
		if rng.IntN(2) == 0 {
			via = other
		}
		err := via.Renew(ctx, c.ID, token, time.Minute, asked)
		r, gerr := raw.Get(ctx, key)
		if gerr != nil {
			t.Fatal(gerr)
		}
		after, present := "", len(r.Kvs) > 0
		if present {
			after = string(r.Kvs[0].Value)
		}
		desc := fmt.Sprintf("case %d (%s): mark/%d %s, renewal asking %d", i, st.kind, c.ID, describe(st), asked.UnixMilli())
		if err == nil {
			n, ok := number(after)
			if !present || !ok || n.Cmp(big.NewInt(asked.UnixMilli())) < 0 {
				t.Errorf("%s: renewal succeeded, but the stored mark is %s, not a number >= the mark asked for\nreplay: %s",
					desc, describeAfter(present, after), replay)
			}
			if before, bok := number(st.value); bok && !st.missing && ok && n.Cmp(before) < 0 {
				t.Errorf("%s: renewal succeeded, but lowered the stored mark to %q\nreplay: %s", desc, after, replay)
			}
		}
		before, readable := number(st.value)
		readable = st.missing || readable && before.IsInt64()
		switch {
		case readable && err != nil:
			t.Errorf("%s: renewal failed, though the mark can be raised: %v\nreplay: %s", desc, err, replay)
		case !readable && err == nil:
			t.Errorf("%s: renewal succeeded over a value that is not a mark (now %s)\nreplay: %s", desc, describeAfter(present, after), replay)
		case !readable:
			if errors.Is(err, snowfall.ErrLeaseLost) {
				t.Errorf("%s: got %v; a value that is not a mark is not a lost lease\nreplay: %s", desc, err, replay)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("%s: error %q does not name the key %s\nreplay: %s", desc, err, key, replay)
			}
			if !present || after != st.value {
				t.Errorf("%s: failed renewal changed the value to %s\nreplay: %s", desc, describeAfter(present, after), replay)
			}
		}
		// Leave a readable mark, so that later claims can read the manifest.
		if _, err := raw.Put(ctx, key, fmt.Sprintf("%020d", asked.UnixMilli())); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d, %d cases: %v", seed, cases, kinds)
}

func describe(st markState) string {
	if st.missing {
		return "missing"
	}
	return strconv.Quote(st.value)
}

func describeAfter(present bool, v string) string {
	if !present {
		return "missing"
	}
	return strconv.Quote(v)
}
