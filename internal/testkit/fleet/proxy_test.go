package fleet

import "github.com/snowfall-go/snowfall/internal/testkit/faultproxy"

// newProxy puts a cuttable TCP proxy between a slot's servers and the database.
func newProxy(target string) (Proxy, error) { return faultproxy.New(target) }
