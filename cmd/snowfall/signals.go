package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// hurryKey is the context key of the channel closed by a second signal.
type hurryKey struct{}

// signalContext returns a context that is cancelled by the first SIGINT or SIGTERM, and holds a
// channel (see hurried) that the second closes: serve then ends its drain delay at once. After the
// second, the signals' default action is back, so a third ends the process at once. stop releases
// the signals.
func signalContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	hurry := make(chan struct{})
	ctx = context.WithValue(ctx, hurryKey{}, (<-chan struct{})(hurry))
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-sigs:
			cancel()
		case <-quit:
			return
		}
		select {
		case <-sigs:
			close(hurry)
			signal.Reset(os.Interrupt, syscall.SIGTERM)
		case <-quit:
		}
	}()
	return ctx, func() {
		close(quit)
		<-done
		signal.Stop(sigs)
		cancel()
	}
}

// hurried returns the channel a second signal closes, or nil (never closed) when ctx has none.
func hurried(ctx context.Context) <-chan struct{} {
	ch, _ := ctx.Value(hurryKey{}).(<-chan struct{})
	return ch
}
