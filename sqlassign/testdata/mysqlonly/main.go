// Command mysqlonly imports sqlassign with the mysql driver package alone, for TestDriversApart; it
// runs checkurls.Main.
package main

import (
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
	"github.com/snowfall-go/snowfall/sqlassign/testdata/checkurls"
)

func main() { checkurls.Main() }
