package snowfall_test

import (
	"fmt"
	"log"
	"time"

	"github.com/snowfall-go/snowfall"
)

func Example() {
	g, err := snowfall.New(snowfall.Settings{Node: snowfall.Node{Generator: 42}})
	if err != nil {
		log.Fatal(err)
	}
	id, err := g.Next()
	if err != nil {
		log.Fatal(err)
	}
	p, _ := g.Layout().Decode(id)
	fmt.Println(p.Generator, time.Since(p.Time) < time.Minute)
	// Output: 42 true
}

func ExampleLayout_Decode() {
	l, _ := snowfall.Preset(snowfall.PresetPysnowflake)
	p, _ := l.Decode(3631957913783762945)
	fmt.Println(p.UnixMilli(), p.DC, p.Worker, p.Sequence)
	// Output: 1416207845161 0 0 1
}

func ExampleParseLayout() {
	l, err := snowfall.ParseLayout("time=41,dc=5,worker=5,seq=12")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(l.PerTick(), l.Max(snowfall.FieldDC), l.Max(snowfall.FieldWorker))
	_, err = snowfall.ParseLayout("time=41,dc=5,worker=5,seq=13")
	fmt.Println(err)
	// Output:
	// 4096 31 31
	// snowfall: invalid layout: fields sum to 64 bits, must be 63 (or 53, for IDs below 2^53 that JavaScript numbers hold exactly)
}

func ExampleID_Base32() {
	id := snowfall.ID(3631957913783762945)
	fmt.Println(id.Base32(), id.Base58())
	back, _ := snowfall.ParseBase32(id.Base32())
	fmt.Println(back)
	// Output:
	// 34STEFB540001 9RyhGgQVRWY
	// 3631957913783762945
}

// Example_presets prints the limits of each preset, as the package documentation gives them.
func Example_presets() {
	for _, name := range snowfall.PresetNames() {
		l, _ := snowfall.Preset(name)
		fmt.Printf("%s: %s, epoch %s\n", name, l.Spec(), l.Epoch().Format(time.RFC3339Nano))
		fmt.Printf("  %d IDs per ms per generator; ", l.PerTick()) // every preset ticks in milliseconds
		if l.Has(snowfall.FieldGenerator) {
			fmt.Printf("generators 0..%d", l.Max(snowfall.FieldGenerator))
		} else {
			fmt.Printf("dc 0..%d, worker 0..%d", l.Max(snowfall.FieldDC), l.Max(snowfall.FieldWorker))
		}
		fmt.Printf("; IDs below 2^%d\n", l.Width())
		fmt.Printf("  %.1f years: the time field runs out on %s\n", l.Lifetime().Hours()/24/365.25, l.End().Format(time.DateOnly))
	}
	// Output:
	// snowfall: time=40,seq=12,gen=11, epoch 2020-01-01T00:00:00Z
	//   4096 IDs per ms per generator; generators 0..2047; IDs below 2^63
	//   34.8 years: the time field runs out on 2054-11-03
	// pysnowflake: time=41,dc=4,worker=8,seq=10, epoch 1987-06-10T00:00:00Z
	//   1024 IDs per ms per generator; dc 0..15, worker 0..255; IDs below 2^63
	//   69.7 years: the time field runs out on 2057-02-13
	// pysnowflake-legacy: time=41,dc=2,worker=8,seq=12, epoch 1987-06-10T00:00:00Z
	//   4096 IDs per ms per generator; dc 0..3, worker 0..255; IDs below 2^63
	//   69.7 years: the time field runs out on 2057-02-13
	// twitter: time=41,dc=5,worker=5,seq=12, epoch 2010-11-04T01:42:54.657Z
	//   4096 IDs per ms per generator; dc 0..31, worker 0..31; IDs below 2^63
	//   69.7 years: the time field runs out on 2080-07-10
	// js: time=41,seq=7,gen=5, epoch 2020-01-01T00:00:00Z
	//   128 IDs per ms per generator; generators 0..31; IDs below 2^53
	//   69.7 years: the time field runs out on 2089-09-06
}
