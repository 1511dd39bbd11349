// Package testdb names the databases Snowfall's tests run against: the local PostgreSQL and
// MariaDB that .ci/services.sh starts, or others named by SNOWFALL_TEST_POSTGRES and
// SNOWFALL_TEST_MYSQL. A test that cannot reach one fails; none skips.
package testdb

import "os"

// Postgres returns the PostgreSQL URL of the tests: $SNOWFALL_TEST_POSTGRES, or the local server's
// database test.
func Postgres() string {
	return envOr("SNOWFALL_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
}

// MySQL returns the MySQL/MariaDB URL of the tests: $SNOWFALL_TEST_MYSQL, or the local server's
// database test.
func MySQL() string { return envOr("SNOWFALL_TEST_MYSQL", "mysql://root@127.0.0.1:3306/test") }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
