// Command mysqlonly imports sqlassign with the mysql driver package alone (TestDriversApart): it
// prints, for each URL argument, "ok" or the error sqlassign.CheckURL returns, and with -open
// opens each URL and prints its dialect.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/snowfall-go/snowfall/sqlassign"
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
)

func main() {
	open := flag.Bool("open", false, "open each URL and print its dialect")
	flag.Parse()
	code := 0
	for _, u := range flag.Args() {
		if err := sqlassign.CheckURL(u, ""); err != nil {
			fmt.Println(err)
			code = 1
			continue
		}
		if !*open {
			fmt.Println("ok")
			continue
		}
		a, err := sqlassign.Open(context.Background(), u, sqlassign.Options{})
		if err != nil {
			fmt.Println(err)
			code = 1
			continue
		}
		fmt.Println(a.Dialect())
		a.Close()
	}
	os.Exit(code)
}
