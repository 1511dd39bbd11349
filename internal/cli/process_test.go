package cli

import (
	"context"
	"encoding/base64"
	"log"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// TestProcessStdLog (red team F4): in a run through Process, what Go's libraries write through the
// standard logger (package log, and slog's default handler) goes through the guard's stderr: no
// piece of a password of the input, nor of its base64, is written.
func TestProcessStdLog(t *testing.T) {
	flags := log.Flags()
	t.Cleanup(func() { log.SetOutput(os.Stderr); log.SetFlags(flags) })
	var out, errb strings.Builder
	b64 := base64.StdEncoding.EncodeToString([]byte("ops:Kq9Zx7Wp"))
	err := Process(context.Background(), []string{"--server", "https://ops:Kq9Zx7Wp@h:1"}, IO{Out: &out, Err: &errb},
		func(ctx context.Context, args []string, sio IO) error {
			log.Printf(`http2: Transport encoding header "authorization" = "Basic %s"`, b64)
			log.Print("dial https://ops:Kq9Zx7Wp@h:1")
			slog.Info("lib", "auth", b64)
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	got := errb.String()
	if strings.Count(got, "\n") != 3 {
		t.Fatalf("stderr %q: want the three lines logged", got)
	}
	for _, s := range []string{"Kq9Zx7Wp", b64[:8], b64[8:16]} {
		if strings.Contains(got, s) {
			t.Errorf("stderr shows %q: %q", s, got)
		}
	}
}
