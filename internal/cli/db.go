package cli

import (
	"flag"
	"time"

	"github.com/snowfall-go/snowfall/internal/redact"
)

// defaultDBTimeout is the default of --db-timeout.
const defaultDBTimeout = 10 * time.Second

// DBURL is the value of --db, a database URL or DSN. Its String, which flag messages and usage
// print, hides the password; only URL returns it whole, to open the database with.
type DBURL struct{ url string }

// String returns the URL with its password hidden (see redact.DSN).
func (d *DBURL) String() string { return redact.DSN(d.url) }

// Set sets the URL.
func (d *DBURL) Set(s string) error {
	d.url = s
	return nil
}

// URL returns the URL as given, password included: for opening the database, never for a message.
func (d *DBURL) URL() string { return d.url }

// Redact returns err with every form of the URL's password hidden in its message (see
// redact.Error); errors.Is and errors.As still see the original chain.
func (d *DBURL) Redact(err error) error { return redact.Error(err, redact.Secrets(d.url)) }

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
