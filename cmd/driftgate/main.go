// Command driftgate blocks a deploy when a dev cluster does not faithfully
// reproduce prod. See README.md and the SPEC for the contract.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func main() {
	ctx, stop := interruptContext()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	stopProfiling := startProfiling(streams.ErrOut)
	code := run(ctx, streams, os.Args[1:])
	stopProfiling()
	stop()
	os.Exit(code)
}

// interruptContext is done at the first SIGINT or SIGTERM, which the
// command answers by stopping its work and exiting 2 with nothing written;
// a second signal ends the process at once, as without driftgate's
// handling.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}
