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
	// snowfall: invalid layout: fields sum to 64 bits, must be 63
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
