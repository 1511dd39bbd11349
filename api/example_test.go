package api_test

import (
	"encoding/json"
	"fmt"

	"github.com/snowfall-go/snowfall/api"
)

// A /stats document read into Stats: the lease's times come back as time.Time.
func ExampleStats() {
	body := `{"dc":0,"worker":0,"timestamp":1795442412345,"last_timestamp":1795442412338,"sequence":3,` +
		`"sequence_overload":0,"errors":0,"generator":9,"layout":"snowfall","spec":"time=41,seq=10,gen=12",` +
		`"epoch_ms":1704067200000,"ids_generated":42,"uptime_s":12.345,"clock_backwards":0,` +
		`"lease":{"id":9,"state":"held","expiry":"2026-11-23T14:00:20.595Z","expires_in_s":8.25,` +
		`"renewals":17,"failures":0,"losses":0,"last_renewal":"2026-11-23T14:00:10.845Z"}}`
	var st api.Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(*st.Generator, st.Layout, st.IDsGenerated)
	fmt.Println(st.Lease.State, st.Lease.Expiry.Sub(st.Lease.LastRenewal), st.Lease.Mark.IsZero())
	// Output:
	// 9 snowfall 42
	// held 9.75s true
}

// IDs in a Batch are decimal strings, which JSON readers without 64-bit integers keep exact.
func ExampleBatch() {
	var b api.Batch
	if err := json.Unmarshal([]byte(`{"ids":["7405364223918276608","7405364223918276609"]}`), &b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(b.IDs), b.IDs[1]-b.IDs[0])
	out, _ := json.Marshal(api.Batch{IDs: b.IDs[:1]})
	fmt.Println(string(out))
	// Output:
	// 2 1
	// {"ids":["7405364223918276608"]}
}

// Every error status comes with an Error body.
func ExampleError() {
	var e api.Error
	json.Unmarshal([]byte(`{"error":"no such path: /nope"}`), &e)
	fmt.Println(e.Message)
	// Output: no such path: /nope
}
