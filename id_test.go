package snowfall

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
)

var idSamples = []ID{0, 1, 31, 32, 57, 58, 1 << 40, 3631957913783762945, math.MaxInt64}

func TestEncodingsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ids := append([]ID(nil), idSamples...)
	for range 1000 {
		ids = append(ids, ID(r.Int64()))
	}
	for _, id := range ids {
		if got, err := ParseID(id.String()); err != nil || got != id {
			t.Fatalf("ParseID(%q) = %d, %v", id.String(), got, err)
		}
		if b := id.Base32(); len(b) != Base32Len {
			t.Fatalf("Base32(%d) = %q, want %d characters", id, b, Base32Len)
		} else if got, err := ParseBase32(b); err != nil || got != id {
			t.Fatalf("ParseBase32(%q) = %d, %v, want %d", b, got, err, id)
		} else if got, err := ParseBase32(strings.ToLower(b)); err != nil || got != id {
			t.Fatalf("ParseBase32(lower %q) = %d, %v", b, got, err)
		}
		if b := id.Base58(); len(b) != Base58Len {
			t.Fatalf("Base58(%d) = %q, want %d characters", id, b, Base58Len)
		} else if got, err := ParseBase58(b); err != nil || got != id {
			t.Fatalf("ParseBase58(%q) = %d, %v, want %d", b, got, err, id)
		}
	}
}

func TestEncodingsSortLikeIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ids := make([]ID, 500)
	for i := range ids {
		ids[i] = ID(r.Int64N(math.MaxInt64))
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for i := 1; i < len(ids); i++ {
		if ids[i-1].Base32() > ids[i].Base32() || ids[i-1].Base58() > ids[i].Base58() {
			t.Fatalf("%d < %d but their encodings do not sort the same way", ids[i-1], ids[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		parse func(string) (ID, error)
		in    string
		want  string
	}{
		{"decimal empty", ParseID, "", "empty"},
		{"decimal sign", ParseID, "-1", "not a decimal"},
		{"decimal plus", ParseID, "+1", "not a decimal"},
		{"decimal overflow", ParseID, "9223372036854775808", "not a decimal"},
		{"decimal letters", ParseID, "12a", "not a decimal"},
		{"base32 bad char", ParseBase32, "000000000000U", "invalid character 'U'"},
		{"base32 too long", ParseBase32, "00000000000000", "want 1 to 13"},
		{"base32 overflow", ParseBase32, "8000000000000", "above the largest ID"},
		{"base58 bad char", ParseBase58, "0000000000", "invalid character '0'"},
		{"base58 overflow", ParseBase58, "zzzzzzzzzzz", "above the largest ID"},
		{"base58 empty", ParseBase58, "", "want 1 to 11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.parse(tt.in)
			if !errors.Is(err, ErrInvalidID) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parse(%q) = %v, want ErrInvalidID mentioning %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestCrockfordAliases(t *testing.T) {
	want, _ := ParseBase32("0000000000101")
	for _, s := range []string{"OOOOOOOOOO1O1", "0000000000I0L", "00000-00000-101", "oooooooooo1o1"} {
		if got, err := ParseBase32(s); err != nil || got != want {
			t.Errorf("ParseBase32(%q) = %d, %v, want %d", s, got, err, want)
		}
	}
}

func TestJSON(t *testing.T) {
	type doc struct {
		ID ID `json:"id"`
	}
	b, err := json.Marshal(doc{ID: 3631957913783762945})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"id":"3631957913783762945"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	for _, in := range []string{`{"id":"3631957913783762945"}`, `{"id":3631957913783762945}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.ID != 3631957913783762945 {
			t.Errorf("Unmarshal(%s) = %d, %v", in, d.ID, err)
		}
	}
	for _, in := range []string{`{"id":"x"}`, `{"id":-5}`, `{"id":1.5}`, `{"id":null}`} {
		var d doc
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("Unmarshal(%s) = %d, want an error", in, d.ID)
		}
	}
}

func TestSQL(t *testing.T) {
	id := ID(42)
	v, err := id.Value()
	if err != nil || v != int64(42) {
		t.Fatalf("Value = %v, %v", v, err)
	}
	for _, src := range []any{int64(42), []byte("42"), "42"} {
		var got ID
		if err := got.Scan(src); err != nil || got != 42 {
			t.Errorf("Scan(%#v) = %d, %v", src, got, err)
		}
	}
	for _, src := range []any{int64(-1), 4.2, nil, "x"} {
		var got ID
		if err := got.Scan(src); err == nil {
			t.Errorf("Scan(%#v) = %d, want an error", src, got)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func fuzzSeeds(f *testing.F) {
	for _, id := range idSamples {
		f.Add(id.String())
		f.Add(id.Base32())
		f.Add(id.Base58())
	}
	for _, s := range []string{"", "-1", "9223372036854775808", "zzzzzzzzzzz", "8000000000000", "0-0", "ILO"} {
		f.Add(s)
	}
}

func FuzzParseID(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("error %v does not wrap ErrInvalidID", err)
			}
			return
		}
		if id < 0 {
			t.Fatalf("ParseID(%q) = %d, negative", s, id)
		}
		if again, err := ParseID(id.String()); err != nil || again != id {
			t.Fatalf("round trip %q -> %d -> %d, %v", s, id, again, err)
		}
	})
}

func FuzzParseBase32(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBase32(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("error %v does not wrap ErrInvalidID", err)
			}
			return
		}
		if id < 0 {
			t.Fatalf("ParseBase32(%q) = %d, negative", s, id)
		}
		if again, err := ParseBase32(id.Base32()); err != nil || again != id {
			t.Fatalf("round trip %q -> %d -> %d, %v", s, id, again, err)
		}
	})
}

func FuzzParseBase58(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseBase58(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("error %v does not wrap ErrInvalidID", err)
			}
			return
		}
		if id < 0 {
			t.Fatalf("ParseBase58(%q) = %d, negative", s, id)
		}
		if again, err := ParseBase58(id.Base58()); err != nil || again != id {
			t.Fatalf("round trip %q -> %d -> %d, %v", s, id, again, err)
		}
	})
}
