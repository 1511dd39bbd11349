package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/redact"
)

// probeCmd checks one of a server's probe paths and exits 0 on a 2xx answer, 1 otherwise: a health
// check for images without curl (the container image is FROM scratch). It spends no ID: it asks
// only for a probe path.
type probeCmd struct{}

func (probeCmd) Name() string { return "probe" }
func (probeCmd) Synopsis() string {
	return "exit 0 if a server's probe path (/livez, /readyz, /healthz) answers 2xx, else 1"
}

// probePaths are the paths probe asks for: the server's probes, which spend no ID.
var probePaths = []string{"/livez", "/readyz", "/healthz"}

var probeSpec = cli.Spec{
	Name:      "probe",
	Usage:     "snowfall probe [--server URL] [--timeout D] [PATH]   (PATH: /livez, /readyz or /healthz; default /healthz)",
	EnvPrefix: envPrefix,
	Args:      1,
}

func (c probeCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	sf := registerServerFlags(fs, 2*time.Second)
	if err := probeSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	path := "/healthz"
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if !slices.Contains(probePaths, path) {
		// Not shown: the command takes a password, and a word of its command line may be a
		// piece of one (see cli.Spec.Parse).
		return cli.Usagef("probe: the path is not /livez, /readyz or /healthz (it is not shown; a probe asks for nothing else, so that it never spends an ID)")
	}
	if err := sf.check("probe", sio.Getenv, time.Millisecond, 10*time.Minute); err != nil {
		return err
	}
	u := sf.server.Parsed()
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	shown := strings.TrimRight(sf.server.String(), "/") + path // without the password
	ctx, cancel := context.WithTimeout(ctx, sf.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("probe: GET %s: %s", shown, redact.Classify(err, nil))
	}
	// A redirect is an answer, not something to follow: it could lead to a path that spends IDs.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		// The client's error quotes the URL (without the password, but this is the one place
		// not to rely on that): say what went wrong in fixed words.
		return fmt.Errorf("probe: GET %s: %s", shown, redact.Classify(err, nil))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	// The status and the body are the server's words: on one line, every control character escaped.
	msg := cli.Printable(strings.TrimSpace(string(body)), false)
	status := cli.Printable(resp.Status, false)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe: %s: %s %s", shown, status, msg)
	}
	fmt.Fprintf(sio.Out, "%s: %s %s\n", shown, status, msg)
	return nil
}
