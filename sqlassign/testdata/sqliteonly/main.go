// Command sqliteonly imports sqlassign with the sqlite driver package alone, for TestDriversApart; it
// runs checkurls.Main.
package main

import (
	_ "github.com/snowfall-go/snowfall/sqlassign/sqlite"
	"github.com/snowfall-go/snowfall/sqlassign/testdata/checkurls"
)

func main() { checkurls.Main() }
