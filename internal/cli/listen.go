package cli

import (
	"context"
	"flag"
	"net"
	"strings"
	"time"
)

// defaultPort is the port the server commands listen on by default, pysnowflake's.
const defaultPort = 8910

// MaxClockOffset bounds --clock-offset of both server commands.
const MaxClockOffset = 24 * time.Hour

// ListenFlags are the flags of the server commands that choose where to listen: --host and --port.
type ListenFlags struct {
	Host string
	Port IntFlag
}

// Register adds --host and --port to fs, with defaults localhost and defaultPort.
func (f *ListenFlags) Register(fs *flag.FlagSet) {
	f.Port.V = defaultPort
	fs.StringVar(&f.Host, "host", "localhost", "address to listen on: an IP address (0.0.0.0 or :: for every interface) or a host name")
	fs.Var(&f.Port, "port", "port to listen on, 0 for any free port")
}

// Check returns a UsageError when the port is out of range or the host is no address to listen on:
// empty (an empty environment variable is no value, and so means the default, localhost; an empty
// --host must not mean every interface instead), white space around it, neither an IP address nor
// a host name, or a name that does not resolve. It names the flag, or the environment variable
// prefix+NAME when the value came from there (see FlagName).
func (f *ListenFlags) Check(fs *flag.FlagSet, prefix string, getenv func(string) string) error {
	if f.Port.V < 0 || f.Port.V > 65535 {
		return Usagef("%s %d out of range [0, 65535]", FlagName(fs, prefix, getenv, "port"), f.Port.V)
	}
	name := FlagName(fs, prefix, getenv, "host")
	if onCommandLine(fs, "address") && !onCommandLine(fs, "host") {
		name = "--address" // snowflake_start_server's other name for --host
	}
	h := f.Host
	switch {
	case h == "":
		return Usagef("%s: empty (give 0.0.0.0 or :: to listen on every interface, or localhost)", name)
	case strings.TrimSpace(h) != h:
		return Usagef("%s %q: white space around the value", name, h)
	case net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")) != nil:
		return nil
	case !hostName(h):
		return Usagef("%s %q: neither an IP address nor a host name", name, h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, h); err != nil {
		return Usagef("%s %q: the name does not resolve to an address", name, h)
	}
	return nil
}

// hostName reports whether s is a DNS host name: dot-separated labels of 1 to 63 letters, digits
// and hyphens, not starting or ending with a hyphen, 253 characters at most.
func hostName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
