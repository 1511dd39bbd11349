package fleet

// newProxy puts a cuttable TCP proxy between a slot's servers and the database.
var newProxy func(target string) (Proxy, error)
