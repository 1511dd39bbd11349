package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/snowfall-go/snowfall/internal/cli"
	"github.com/snowfall-go/snowfall/internal/testkit/leakcheck"
)

// wordPlaces are where a case puts the word W: a flag's value or name, an argument, one of the two
// environment variables the command reads.
var wordPlaces = []struct {
	name string
	args []string
	env  map[string]string
}{
	{"env worker", nil, map[string]string{"PSF_WORKER": "W"}},
	{"env dc", nil, map[string]string{"PSF_DC": "W"}},
	{"--dc", []string{"--dc", "W"}, nil},
	{"--dc=", []string{"--dc=W"}, nil},
	{"--worker", []string{"--worker", "W"}, nil},
	{"--logging=", []string{"--logging=W"}, nil},
	{"--host", []string{"--host", "W"}, nil},
	{"--address=", []string{"--address=W"}, nil},
	{"--port", []string{"--port", "W"}, nil},
	{"--log-format", []string{"--log-format", "W"}, nil},
	{"--clock-offset", []string{"--clock-offset", "W"}, nil},
	{"--num_processes", []string{"--num_processes", "W"}, nil},
	{"argument", []string{"W"}, nil},
	{"flag name", []string{"--W"}, nil},
	{"flag name=", []string{"--W=1"}, nil},
}

// runWord runs the command with W replaced by word and returns everything it printed.
func runWord(place int, word string) string {
	p := wordPlaces[place]
	var args []string
	for _, a := range p.args {
		args = append(args, strings.ReplaceAll(a, "W", word))
	}
	env := map[string]string{}
	for k, v := range p.env {
		env[k] = strings.ReplaceAll(v, "W", word)
	}
	var out, errb bytes.Buffer
	sio := cli.IO{In: strings.NewReader(""), Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a case that serves stops
	defer cancel()
	err := run(ctx, args, sio)
	if err != nil {
		fmt.Fprintln(&errb, name+": "+err.Error()) // as main prints it
	}
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", cli.ExitCode(err), out.String(), errb.String())
}

// TestSecretWordsGenerated (red team ssss_noguard.sh: PSF_WORKER='mysql://u:hunter2zz@h/db',
// --dc, --logging=, --host u:pw@h were printed verbatim): snowflake_start_server runs behind the
// same guard as snowfall, with snowfall's generated cases: a URL or DSN with a password, in any of
// leakcheck.Forms' spellings, anywhere in its input, shows no piece of the password (leakcheck's
// criterion; a one to three letter password: the output must not depend on it). Replayable:
//
//	SSSS_WORDS_SEED=2 SSSS_WORDS_CASES=2000 go test -run TestSecretWordsGenerated ./cmd/snowflake_start_server
//	SSSS_WORDS_CASE=17 go test -run TestSecretWordsGenerated -v ./cmd/snowflake_start_server
func TestSecretWordsGenerated(t *testing.T) {
	leakcheck.Words{
		Env: "SSSS", Cases: 300, Places: len(wordPlaces),
		Place:   func(p int) string { return wordPlaces[p].name },
		Command: runWord,
	}.Run(t)
}
