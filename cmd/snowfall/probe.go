package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/snowfall-go/snowfall/internal/cli"
)

// probeCmd checks one of a server's probe paths and exits 0 on a 2xx answer, 1 otherwise: a health
// check for images without curl (the container image is FROM scratch). It spends no ID.
type probeCmd struct{}

func (probeCmd) Name() string { return "probe" }
func (probeCmd) Synopsis() string {
	return "exit 0 if a server's probe path (/livez, /readyz, /healthz) answers 2xx, else 1"
}

var probeSpec = cli.Spec{
	Name:      "probe",
	Usage:     "snowfall probe [--server URL] [--timeout D] [PATH]   (PATH: /livez, /readyz or /healthz; default /healthz)",
	EnvPrefix: envPrefix,
	Args:      1,
}

func (c probeCmd) Run(ctx context.Context, args []string, sio cli.IO) error {
	fs := flag.NewFlagSet(c.Name(), flag.ContinueOnError)
	sf := registerServerFlags(fs, 2*time.Second)
	server, timeout := &sf.server, &sf.timeout
	if err := probeSpec.Parse(fs, args, sio); err != nil {
		return err
	}
	path := "/healthz"
	if fs.NArg() == 1 {
		path = fs.Arg(0)
	}
	if !strings.HasPrefix(path, "/") {
		return cli.Usagef("probe: path %q does not start with /", path)
	}
	if *timeout <= 0 {
		return cli.Usagef("probe: --timeout %v: want a positive duration", *timeout)
	}
	u, err := url.Parse(strings.TrimRight(*server, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cli.Usagef("probe: --server %q: want an http or https URL with a host", *server)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe: %s: %s %s", u, resp.Status, msg)
	}
	fmt.Fprintf(sio.Out, "%s: %s %s\n", u, resp.Status, msg)
	return nil
}
