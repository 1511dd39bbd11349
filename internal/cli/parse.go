package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args into fs; then every flag not set on the command line takes its value from
// the environment variable prefix+NAME (upper case, '-' as '_'), if set: flag beats env beats
// default. A bad env value is a UsageError naming the variable.
func parseFlags(fs *flag.FlagSet, args []string, prefix string, getenv func(string) string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		if holdsSecret(fs) && (strings.HasPrefix(err.Error(), "flag provided but not defined: ") || strings.HasPrefix(err.Error(), "bad flag syntax: ")) {
			return &UsageError{errNotAFlag}
		}
		return &UsageError{unclipped(err, args)}
	}
	if prefix == "" || getenv == nil {
		return nil
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := EnvName(prefix, f.Name)
		v := getenv(name)
		if v == "" {
			return
		}
		if e := f.Value.Set(v); e != nil {
			err = Usagef("invalid value %q for %s: %v", v, name, e)
		}
	})
	return err
}

// unclipped returns err, or for an unknown flag given with a value (--name=value), whose name the
// flag package quotes cut at the '=' (a clip can cut a password anywhere, below what the guard
// recognises), an error that quotes the whole word (Quoted: by its length when long).
func unclipped(err error, args []string) error {
	const prefix = "flag provided but not defined: -"
	name, ok := strings.CutPrefix(err.Error(), prefix)
	if !ok {
		return err
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		t := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if n, _, cut := strings.Cut(t, "="); cut && n == name && strings.HasPrefix(a, "-") {
			return fmt.Errorf("flag provided but not defined: %s", Quoted(a))
		}
	}
	return err
}

// secretValue is a flag value that may hold a password (DBURL, ServerURL).
type secretValue interface{ holdsSecret() }

// holdsSecret reports whether fs has a flag whose value may hold a password. The words of such a
// command line are never echoed: when a quote is missing around a URL with a space in its password,
// the shell hands the command the password's pieces as words of their own, unknown flags or stray
// arguments, which no parser can tell from a typo.
func holdsSecret(fs *flag.FlagSet) bool {
	secret := false
	fs.VisitAll(func(f *flag.Flag) {
		_, ok := f.Value.(secretValue)
		secret = secret || ok
	})
	return secret
}

// errNotAFlag replaces the flag package's errors that quote a word of the command line, for a
// command that takes a password (see holdsSecret).
var errNotAFlag = errors.New("a word before the arguments is not one of the flags below (it is not shown: " +
	"if a quote is missing around a URL whose password holds a space, it is a piece of the password)")

// EnvName returns the environment variable that stands for flag name.
func EnvName(prefix, name string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// printUsage writes a command's usage line and its flags.
func printUsage(w io.Writer, fs *flag.FlagSet, usage string) {
	fmt.Fprintf(w, "usage: %s\n", usage)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// FlagName returns how to name flag name in an error: "--name" when it was set on the command line
// or not at all, and the environment variable prefix+NAME when its value came from there.
func FlagName(fs *flag.FlagSet, prefix string, getenv func(string) string, name string) string {
	if !onCommandLine(fs, name) && fromEnv(prefix, getenv, name) {
		return EnvName(prefix, name)
	}
	return "--" + name
}

// Given reports whether flag name was given, on the command line or in the environment variable
// prefix+NAME.
func Given(fs *flag.FlagSet, prefix string, getenv func(string) string, name string) bool {
	return onCommandLine(fs, name) || fromEnv(prefix, getenv, name)
}

func onCommandLine(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func fromEnv(prefix string, getenv func(string) string, name string) bool {
	return getenv != nil && getenv(EnvName(prefix, name)) != ""
}

// AnyArgs, as Spec.Args, lets any number of arguments follow the flags.
const AnyArgs = -1

// Spec is what parsing a command line takes besides the flags: the usage line, the environment
// variables that stand for flags, and how many arguments may follow the flags.
type Spec struct {
	Name      string // starts the error about a leftover argument ("leases: unexpected argument …"); may be ""
	Usage     string // the usage line, printed with the flags when the command line is wrong or -h asks for it
	EnvPrefix string // the prefix of the environment variables standing for flags (see parseFlags); "" for none
	Args      int    // how many arguments may follow the flags, or AnyArgs
}

// Parse parses args into fs (see parseFlags, with sp.EnvPrefix and sio.Getenv). When args are wrong,
// or -h asks for help, it prints the usage line and the flags to sio.Err and returns the error
// (flag.ErrHelp for -h); an argument beyond sp.Args is a UsageError, whose message shows it unless
// the command takes a password (see holdsSecret).
func (sp Spec) Parse(fs *flag.FlagSet, args []string, sio IO) error {
	if err := parseFlags(fs, args, sp.EnvPrefix, sio.Getenv); err != nil {
		printUsage(sio.Err, fs, sp.Usage)
		return err
	}
	if sp.Args != AnyArgs && fs.NArg() > sp.Args {
		printUsage(sio.Err, fs, sp.Usage)
		name := ""
		if sp.Name != "" {
			name = sp.Name + ": "
		}
		if holdsSecret(fs) {
			return Usagef("%sunexpected argument after the flags (it is not shown: if a quote is missing around a URL whose password holds a space, it is a piece of the password)", name)
		}
		return Usagef("%sunexpected argument %q", name, fs.Arg(sp.Args))
	}
	return nil
}
