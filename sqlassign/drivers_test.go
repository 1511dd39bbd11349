package sqlassign

// The tests, internal and external (one binary), parse and open every kind of URL.
import (
	_ "github.com/snowfall-go/snowfall/sqlassign/mysql"
	_ "github.com/snowfall-go/snowfall/sqlassign/postgres"
	_ "github.com/snowfall-go/snowfall/sqlassign/sqlite"
)
