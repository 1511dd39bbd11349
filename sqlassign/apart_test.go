package sqlassign_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// driverImports are the database/sql drivers, by the sqlassign driver package that imports each.
var driverImports = map[string]string{
	"sqlite":   "modernc.org/sqlite",
	"postgres": "github.com/jackc/pgx/v5/stdlib",
	"mysql":    "github.com/go-sql-driver/mysql",
}

// TestDriversApart (issue 13): a program that imports sqlassign and one driver package links that
// driver alone, opens its URLs, and refuses the others' with an error naming the package to import.
// The programs are testdata/<driver>only, built and run here.
func TestDriversApart(t *testing.T) {
	sqliteURL := "sqlite://" + filepath.Join(t.TempDir(), "apart.db")
	urls := map[string]string{"sqlite": sqliteURL, "postgres": postgresURL(), "mysql": mysqlURL()}
	for _, name := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pkg := "./testdata/" + name + "only"
			out, err := exec.Command("go", "list", "-deps", pkg).Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			deps := strings.Fields(string(out))
			for drv, imp := range driverImports {
				if got, want := slices.Contains(deps, imp), drv == name; got != want {
					t.Errorf("%s links %s: %v, want %v", pkg, imp, got, want)
				}
			}

			bin := filepath.Join(t.TempDir(), name+"only")
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				t.Fatalf("go build %s: %v\n%s", pkg, err, out)
			}
			g := group()
			out, err = exec.Command(bin, "-open", "-group", g, urls[name]).CombinedOutput()
			if got, want := string(out), name+"\n"; err != nil || got != want {
				t.Errorf("%s -open %s: got %q (%v), want %q", name, urls[name], got, err, want)
			}

			var args, want []string
			for _, other := range []string{"sqlite", "postgres", "mysql"} {
				if other == name {
					continue
				}
				args = append(args, urls[other])
				want = append(want, "sqlassign: "+other+`: URLs need the driver package: import _ "github.com/snowfall-go/snowfall/sqlassign/`+other+`"`)
			}
			if name != "postgres" {
				args = append(args, "host=/var/run/postgresql dbname=test password=secret")
				want = append(want, `sqlassign: postgres: keyword DSNs need the driver package: import _ "github.com/snowfall-go/snowfall/sqlassign/postgres"`)
			}
			out, _ = exec.Command(bin, args...).Output()
			if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, want) {
				t.Errorf("%s %q:\ngot  %q\nwant %q", name, args, got, want)
			}
		})
	}
}
