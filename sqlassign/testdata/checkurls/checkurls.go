// Package checkurls is the body of the testdata/<driver>only programs of TestDriversApart, which
// differ only in the one driver package they import.
package checkurls

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/snowfall-go/snowfall/sqlassign"
)

// Main prints, for each URL argument, "ok" or the error sqlassign.CheckURL returns, and with
// -open opens each URL, prints its dialect and drops the group's tables; it exits 1 on any error.
func Main() {
	open := flag.Bool("open", false, "open each URL, print its dialect and drop the group's tables")
	group := flag.String("group", "", "the group to open")
	flag.Parse()
	code := 0
	for _, u := range flag.Args() {
		if err := sqlassign.CheckURL(u, *group); err != nil {
			fmt.Println(err)
			code = 1
			continue
		}
		if !*open {
			fmt.Println("ok")
			continue
		}
		a, err := sqlassign.Open(context.Background(), u, sqlassign.Options{Group: *group})
		if err != nil {
			fmt.Println(err)
			code = 1
			continue
		}
		fmt.Println(a.Dialect())
		if err := a.Drop(context.Background()); err != nil {
			fmt.Println(err)
			code = 1
		}
		a.Close()
	}
	os.Exit(code)
}
