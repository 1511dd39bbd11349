package cli

import "flag"

// defaultPort is the port the server commands listen on by default, pysnowflake's.
const defaultPort = 8910

// ListenFlags are the flags of the server commands that choose where to listen: --host and --port.
type ListenFlags struct {
	Host string
	Port IntFlag
}

// Register adds --host and --port to fs, with defaults localhost and defaultPort.
func (f *ListenFlags) Register(fs *flag.FlagSet) {
	f.Port.V = defaultPort
	fs.StringVar(&f.Host, "host", "localhost", "address to listen on")
	fs.Var(&f.Port, "port", "port to listen on, 0 for any free port")
}

// Check returns a UsageError when the port is out of range, naming the flag, or the environment
// variable prefix+PORT when its value came from there (see FlagName).
func (f *ListenFlags) Check(fs *flag.FlagSet, prefix string, getenv func(string) string) error {
	if f.Port.V < 0 || f.Port.V > 65535 {
		return Usagef("%s %d out of range [0, 65535]", FlagName(fs, prefix, getenv, "port"), f.Port.V)
	}
	return nil
}
