// Command postgresonly imports sqlassign with the postgres driver package alone, for TestDriversApart; it
// runs checkurls.Main.
package main

import (
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres"
	"github.com/snowfall-go/snowfall/sqlassign/testdata/checkurls"
)

func main() { checkurls.Main() }
