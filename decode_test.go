package snowfall

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestDecodedJSON pins the JSON of a decoded ID, as snowfall decode prints it and GET /decode/{id}
// serves it: id as a string, unix_ms, time with milliseconds, sequence, then generator for a layout
// with a gen field or dc and worker for the others.
func TestDecodedJSON(t *testing.T) {
	tw := must(Preset(PresetTwitter))
	tests := []struct {
		name string
		l    Layout
		id   ID
		want string
	}{
		{"gen, zeros", DefaultLayout(), 1825382944768786432,
			`{"id":"1825382944768786432","unix_ms":1795439404004,"time":"2026-11-23T13:10:04.004Z","sequence":0,"generator":0}`},
		{"gen", DefaultLayout(), 1825382944768786432 + 7<<11 + 2047, // 1825382944768802815
			`{"id":"1825382944768802815","unix_ms":1795439404004,"time":"2026-11-23T13:10:04.004Z","sequence":7,"generator":2047}`},
		{"dc and worker, zeros", must(Preset(PresetPysnowflake)), 3631957913783762945,
			`{"id":"3631957913783762945","unix_ms":1416207845161,"time":"2014-11-17T07:04:05.161Z","sequence":1,"dc":0,"worker":0}`},
		{"dc and worker", tw, 1000<<22 + 3<<17 + 30<<12 + 4095, // 4194824191
			`{"id":"4194824191","unix_ms":1288834975657,"time":"2010-11-04T01:42:55.657Z","sequence":4095,"dc":3,"worker":30}`},
		{"unit 10ms", must(ParseLayout("time=39,seq=8,gen=16,unit=10ms")), 5<<24 + 1<<16 + 9, // 83951625
			`{"id":"83951625","unix_ms":1577836800050,"time":"2020-01-01T00:00:00.050Z","sequence":1,"generator":9}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DecodeString(tt.l, tt.id.String())
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("JSON of %d:\n got %s\nwant %s", tt.id, got, tt.want)
			}
			var back Decoded
			if err := json.Unmarshal([]byte(tt.want), &back); err != nil {
				t.Fatal(err)
			}
			if back != d {
				t.Errorf("Unmarshal(%s) = %+v, want %+v", tt.want, back, d)
			}
		})
	}
}

// TestDecodedJSONRoundTrip: Unmarshal(Marshal(d)) == d for IDs of every preset and a custom layout.
func TestDecodedJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	layouts := []Layout{must(ParseLayout("time=39,seq=8,gen=16,unit=10ms"))}
	for _, name := range PresetNames() {
		layouts = append(layouts, must(Preset(name)))
	}
	for _, l := range layouts {
		for range 200 {
			d, err := l.Decode(ID(r.Int64() & int64(l.MaxID())))
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back Decoded
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if back != d {
				t.Fatalf("%s: Unmarshal(%s) = %+v, want %+v", l.Name(), b, back, d)
			}
		}
	}
	var d Decoded
	if err := json.Unmarshal([]byte(`{"id":12`), &d); err == nil {
		t.Error("Unmarshal of broken JSON: no error")
	}
}

func TestDecodeString(t *testing.T) {
	l, _ := Preset(PresetPysnowflake)
	id := ID(3631957913783762945)
	for _, s := range []string{id.String(), id.Base32(), id.Base58()} {
		d, err := DecodeString(l, s)
		if err != nil {
			t.Fatalf("DecodeString(%q): %v", s, err)
		}
		if d.ID != id || d.UnixMilli() != 1416207845161 || d.Time.Format(TimeFormat) != "2014-11-17T07:04:05.161Z" || d.Sequence != 1 ||
			d.DC != 0 || d.Worker != 0 || d.Generator != 0 {
			t.Errorf("DecodeString(%q) = %+v", s, d)
		}
	}
	// (1825382944768786432 >> 23) + 1577836800000 = 1795439404004 ms; sequence and generator are 0.
	b, _ := json.Marshal(must(DecodeString(DefaultLayout(), "1825382944768786432")))
	if got, want := string(b), `{"id":"1825382944768786432","unix_ms":1795439404004,"time":"2026-11-23T13:10:04.004Z","sequence":0,"generator":0}`; got != want {
		t.Errorf("JSON = %s\nwant %s", got, want)
	}
}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	layouts := []Layout{DefaultLayout(), must(Preset(PresetPysnowflake)), must(ParseLayout("time=39,seq=8,gen=16,unit=10ms")), must(Preset(PresetJS))}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range layouts {
			d, err := DecodeString(l, s)
			if err != nil {
				if !errors.Is(err, ErrInvalidID) {
					t.Fatalf("error %v does not wrap ErrInvalidID", err)
				}
				if id, perr := ParseAny(s); perr == nil && id >= 0 && id <= l.MaxID() {
					t.Fatalf("Decode(%d) under %s refused an ID in [0, MaxID]: %v", id, l.Name(), err)
				}
				continue
			}
			if d.ID > l.MaxID() {
				t.Fatalf("Decode(%d) under %s accepted an ID above MaxID %d", d.ID, l.Name(), l.MaxID())
			}
			id, err := l.Compose(l.Ticks(d.Time), d.Sequence, d.Node())
			if err != nil || id != d.ID {
				t.Fatalf("Compose(Decode(%d)) = %d, %v", d.ID, id, err)
			}
		}
	})
}

// TestParseAnyPrefixes: digits-only text is decimal; a prefix names the encoding of a fixed-width
// form that is all digits.
func TestParseAnyPrefixes(t *testing.T) {
	id := ID(32)
	b32 := id.Base32() // "0000000000010": digits only
	for _, c := range []struct {
		in   string
		want ID
	}{
		{b32, 10},
		{"base32:" + b32, 32},
		{"decimal:" + b32, 10},
		{"base58:" + id.Base58(), 32},
	} {
		if got, err := ParseAny(c.in); err != nil || got != c.want {
			t.Errorf("ParseAny(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	if _, err := ParseAny("base32:!"); err == nil {
		t.Errorf("ParseAny(base32:!) accepted")
	}
}

// FuzzParseAny: the prefixed forms round-trip; any text parses or fails without panicking.
func FuzzParseAny(f *testing.F) {
	f.Add(int64(32), "0000000000010")
	f.Add(int64(1)<<62, "base32:zzzzzzzzzzzzz")
	f.Fuzz(func(t *testing.T, v int64, s string) {
		ParseAny(s)
		if v < 0 {
			return
		}
		id := ID(v)
		for _, in := range []string{"base32:" + id.Base32(), "base58:" + id.Base58(), "decimal:" + id.String(), id.String()} {
			if got, err := ParseAny(in); err != nil || got != id {
				t.Fatalf("ParseAny(%q) = %v, %v; want %v", in, got, err, id)
			}
		}
	})
}
