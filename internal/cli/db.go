package cli

import (
	"flag"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/assignurl"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// defaultDBTimeout is the default of --db-timeout.
const defaultDBTimeout = 10 * time.Second

// DBURL is the value of --db, a store URL or DSN, parsed when it is set (assignurl.Parse). The value
// lives only inside a redact.URL, whose every rendering is the display form, built from the parsed
// parts without the password; a value that does not parse is kept nowhere, only the reason, in
// fixed words. Set never fails (the flag package would quote the value in its error): Check reports
// a bad value.
type DBURL struct {
	u   redact.URL
	err error
}

// String returns the display form ("" when unset or malformed).
func (d *DBURL) String() string {
	if d == nil {
		return ""
	}
	return d.u.String()
}

// Set parses s; an error is kept for Check. An empty s unsets the value.
func (d *DBURL) Set(s string) error {
	d.u, d.err = redact.URL{}, nil
	switch {
	case strings.EqualFold(s, "memory"):
		// The in-process assigner, which serve refuses by name (it keeps no lease across
		// processes): no URL, no secret.
		d.u = redact.New(s, s)
	case s != "":
		d.u, d.err = assignurl.Parse(s)
	}
	return nil
}

// URL returns the parsed URL: zero when unset or malformed.
func (d *DBURL) URL() redact.URL { return d.u }

// Given reports whether a value was set, valid or not.
func (d *DBURL) Given() bool { return !d.u.IsZero() || d.err != nil }

func (d *DBURL) holdsSecret() {}

// DBFlags are the flags of the commands that work on a lease database: --db, --group and
// --db-timeout.
type DBFlags struct {
	DB      DBURL
	Group   string
	Timeout time.Duration
}

// Register adds --db, --group and --db-timeout to fs.
func (f *DBFlags) Register(fs *flag.FlagSet) {
	fs.Var(&f.DB, "db", "the lease database `URL`: sqlite:///path, postgres://…, mysql://user:pass@host:port/db or etcd://host:port[,…]/prefix")
	fs.StringVar(&f.Group, "group", "", "the group of generator ids in the database, with its own manifest (SQL tables snowfall_<group>_properties and snowfall_<group>_manifest)")
	fs.DurationVar(&f.Timeout, "db-timeout", defaultDBTimeout, "how long each step on the database (connect and create the tables, claim an id, list the leases, fill the manifest) may take")
}

// Check returns a UsageError when --db was given and does not parse, naming where it came from
// (--db, or the environment variable prefix+DB) and never its value, or when the group name is bad.
func (f *DBFlags) Check(fs *flag.FlagSet, prefix string, getenv func(string) string) error {
	if f.DB.err != nil {
		return Usagef("%s: %v", FlagName(fs, prefix, getenv, "db"), f.DB.err)
	}
	if !f.DB.u.IsZero() {
		if err := assignurl.Check(f.DB.u, f.Group); err != nil {
			return Usagef("%s: %v", FlagName(fs, prefix, getenv, "group"), err)
		}
	}
	return nil
}
