package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestGuardPGPassword: pgx sends PGPASSWORD when a PostgreSQL URL names no password, reading the
// environment on its own: the guard hides it as it hides a password in a URL, whatever it holds
// (spaces, quotes, backslashes), in what a command prints and in its error.
func TestGuardPGPassword(t *testing.T) {
	for _, pw := range []string{"Zq7Kp9Wm", "se cret Qx7z", `it's\ok"`, "p@ss=w0rd"} {
		env := map[string]string{"PGPASSWORD": pw}
		var out, errb strings.Builder
		sio := IO{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
		err := Guarded(context.Background(), nil, sio, func(_ context.Context, _ []string, io IO) error {
			fmt.Fprintf(io.Out, "driver said: auth failed for %s\n", pw)
			return fmt.Errorf("connect: password %s refused", pw)
		})
		shown := out.String() + errb.String() + err.Error()
		for i := 0; i+4 <= len(pw); i++ {
			if strings.Contains(shown, pw[i:i+4]) {
				t.Errorf("PGPASSWORD %q: %q of it shown: %q", pw, pw[i:i+4], shown)
				break
			}
		}
	}
}
