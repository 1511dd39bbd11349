package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The default lease database of snowfall serve without node flags and without --db is
// leases.db in $XDG_STATE_HOME/snowfall, or ~/.local/state/snowfall when XDG_STATE_HOME is unset
// (the XDG Base Directory default): a state directory, never a cache directory, which tools and
// people wipe, because the file holds the marks that keep IDs unique. The processes of one user
// share it, and so never serve the same generator id at once.
//
// Before, the fallback was the user cache directory; a file found there, and not yet in the state
// directory, is used (and serve says so), so that an upgrade keeps its marks.

const defaultDBName = "leases.db"

// stateDir returns $XDG_STATE_HOME/snowfall, or $HOME/.local/state/snowfall.
func stateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "snowfall"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("serve: no state directory for the default lease database (set XDG_STATE_HOME or HOME, or use --db): %w", err)
		}
	}
	return filepath.Join(home, ".local", "state", "snowfall"), nil
}

// oldDefaultDir returns where earlier versions put the default database: os.UserCacheDir()/snowfall,
// computed from getenv as os.UserCacheDir does; "" when there is none.
func oldDefaultDir(getenv func(string) string) string {
	var dir string
	switch runtime.GOOS {
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			dir = filepath.Join(h, "Library", "Caches")
		}
	case "windows", "plan9":
		d, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = d
	default:
		dir = getenv("XDG_CACHE_HOME")
		if dir == "" || !filepath.IsAbs(dir) {
			if h := getenv("HOME"); h != "" {
				dir = filepath.Join(h, ".cache")
			}
		}
	}
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "snowfall")
}

func sqliteURL(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("serve: default lease database: %w", err)
	}
	// The directory is a path, not part of a URL: escape what a sqlite: URL (a SQLite URI filename)
	// would read as a query, a fragment or an escape.
	return "sqlite://" + uriPath.Replace(filepath.ToSlash(abs)), nil
}

var uriPath = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

// newDefaultDB returns the path of the default lease database in the state directory, for messages.
func newDefaultDB(getenv func(string) string) string {
	d, err := stateDir(getenv)
	if err != nil {
		return ""
	}
	return filepath.Join(d, defaultDBName)
}

// defaultDB returns the URL of the default lease database, creating its directory, and reports
// whether it is a file at the old default place (in the cache directory) that the state directory
// does not have yet.
func defaultDB(getenv func(string) string) (db string, old bool, err error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir, err := stateDir(getenv)
	if err != nil {
		return "", false, err
	}
	path := filepath.Join(dir, defaultDBName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if od := oldDefaultDir(getenv); od != "" {
			oldPath := filepath.Join(od, defaultDBName)
			if st, err := os.Stat(oldPath); err == nil && st.Mode().IsRegular() {
				db, err := sqliteURL(oldPath)
				return db, err == nil, err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("serve: default lease database: %w", err)
	}
	db, err = sqliteURL(path)
	return db, false, err
}
