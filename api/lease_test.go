package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/snowfall-go/snowfall/api"
)

// leaseReads are documents a client may get for a lease, and what it reads from them.
var leaseReads = []struct {
	name string
	in   string
	want api.Lease
	bad  bool
}{
	{"snowfall", `{"id":4,"state":"fenced","expiry":"2026-11-23T14:00:00.250Z","expires_in_s":-1.5,"mark":"2026-11-23T14:00:05.000Z",` +
		`"renewals":7,"failures":2,"losses":1,"last_renewal":"2026-11-23T13:59:58.125Z","last_error":"lease in doubt"}`,
		api.Lease{ID: 4, State: "fenced", Expiry: at(0, 250), ExpiresInS: -1.5, Mark: at(5, 0), Renewals: 7, Failures: 2, Losses: 1,
			LastRenewal: at(-2, 125), LastError: "lease in doubt"}, false},
	{"rfc3339 without ms", `{"id":4,"expiry":"2026-11-23T14:00:00Z","state":"held"}`, api.Lease{ID: 4, State: "held", Expiry: at(0, 0)}, false},
	{"rfc3339 with offset", `{"id":4,"expiry":"2026-11-23T15:00:00+01:00","state":"held"}`, api.Lease{ID: 4, State: "held", Expiry: at(0, 0)}, false},
	{"unix ms", `{"id":4,"expiry":1795442400000,"state":"held","mark":1795442405000,"last_renewal":1795442398125}`,
		api.Lease{ID: 4, State: "held", Expiry: at(0, 0), Mark: at(5, 0), LastRenewal: at(-2, 125)}, false},
	{"no expiry", `{"id":4,"state":"lost"}`, api.Lease{ID: 4, State: "lost"}, false},
	{"empty expiry", `{"id":-1,"state":"lost","expiry":""}`, api.Lease{ID: -1, State: "lost"}, false},
	{"null expiry", `{"id":4,"expiry":null}`, api.Lease{ID: 4}, false},
	{"bool expiry", `{"id":4,"expiry":true}`, api.Lease{}, true},
	{"fractional ms", `{"id":4,"expiry":1795442400000.5}`, api.Lease{}, true},
	{"ms past year 9999", `{"id":4,"expiry":253402300800000}`, api.Lease{}, true},
	{"bad text", `{"id":4,"mark":"yesterday"}`, api.Lease{}, true},
	{"bad renewals", `{"id":4,"renewals":-1}`, api.Lease{}, true},
	{"not an object", `[1]`, api.Lease{}, true},
}

// at is 2026-11-23T14:00:00Z plus s seconds and ms milliseconds.
func at(s, ms int) time.Time {
	return time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC).Add(time.Duration(s)*time.Second + time.Duration(ms)*time.Millisecond)
}

func TestLeaseUnmarshal(t *testing.T) {
	for _, tt := range leaseReads {
		t.Run(tt.name, func(t *testing.T) {
			var got api.Lease
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err != nil) != tt.bad {
				t.Fatalf("Unmarshal(%s) error = %v, want error %v", tt.in, err, tt.bad)
			}
			if diff := cmp.Diff(tt.want, got); !tt.bad && diff != "" {
				t.Errorf("Unmarshal(%s) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestLeaseMarshal(t *testing.T) {
	tests := []struct {
		name string
		in   api.Lease
		want string
	}{
		{"every field", api.Lease{ID: 4, State: "fenced", Expiry: at(0, 250).In(time.FixedZone("x", 3600)), ExpiresInS: -1.5,
			Mark: at(5, 0), Renewals: 7, Failures: 2, Losses: 1, LastRenewal: at(-2, 125), LastError: "lease <in> doubt"},
			`{"id":4,"state":"fenced","expiry":"2026-11-23T14:00:00.250Z","expires_in_s":-1.5,"mark":"2026-11-23T14:00:05.000Z",` +
				`"renewals":7,"failures":2,"losses":1,"last_renewal":"2026-11-23T13:59:58.125Z","last_error":"lease \u003cin\u003e doubt"}`},
		{"zero", api.Lease{}, `{"id":0,"state":"","expiry":"","expires_in_s":0,"renewals":0,"failures":0,"losses":0}`},
		{"sub-millisecond", api.Lease{ID: 1, State: "held", Expiry: at(0, 0).Add(999 * time.Microsecond)},
			`{"id":1,"state":"held","expiry":"2026-11-23T14:00:00.000Z","expires_in_s":0,"renewals":0,"failures":0,"losses":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b); got != tt.want {
				t.Errorf("Marshal(%+v) =\n%s\nwant\n%s", tt.in, got, tt.want)
			}
			var back api.Lease
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("Unmarshal(Marshal(%+v)): %v", tt.in, err)
			}
			if again, _ := json.Marshal(back); string(again) != tt.want {
				t.Errorf("Marshal(Unmarshal(%s)) = %s", tt.want, again)
			}
		})
	}
}

// FuzzLease checks that any lease document a client accepts is written back in a form it reads
// again to the same lease (times to the millisecond, in UTC).
func FuzzLease(f *testing.F) {
	for _, tt := range leaseReads {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var l api.Lease
		if json.Unmarshal([]byte(in), &l) != nil {
			return
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", l, err)
		}
		var back api.Lease
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("Unmarshal(%s) of the written form of %s: %v", b, in, err)
		}
		again, err := json.Marshal(back)
		if err != nil || string(again) != string(b) {
			t.Fatalf("%s read back and written again is %s (%v)", b, again, err)
		}
	})
}
