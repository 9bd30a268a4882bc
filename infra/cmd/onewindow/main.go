// Command onewindow is the repository's tool: it runs the local stack
// (make run), redeploys one function in it (make redeploy), signs calls to
// it (make call), measures it (make bench) and wraps the tests with a
// PostgreSQL and MinIO of their own (make test).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first Ctrl-C stops cleanly; a second one kills at once.
	go func() { <-ctx.Done(); stop() }()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = cmdRun(ctx, os.Args[2:])
	case "redeploy":
		err = cmdRedeploy(ctx, os.Args[2:])
	case "call":
		err = cmdCall(ctx, os.Args[2:])
	case "apps":
		err = cmdApps(ctx, os.Args[2:])
	case "bench":
		err = cmdBench(ctx, os.Args[2:])
	case "testenv":
		err = cmdTestenv(ctx, os.Args[2:])
	case "help", "-h", "-help", "--help":
		usage()
		return
	default:
		usage()
		os.Exit(2)
	}
	if err != nil {
		// Only testenv's own child returns its exit status unwrapped: that
		// command has said why. A wrapped one (a failed build) is printed.
		exit, direct := err.(*exec.ExitError)
		switch {
		case direct:
			os.Exit(exit.ExitCode())
		case errors.Is(err, errExitStatus):
			os.Exit(1) // the command has said why
		}
		fmt.Fprintln(os.Stderr, "onewindow:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: onewindow <command> [flags]

commands:
  run                 the whole stack on $ONEWINDOW_ADDR (default 127.0.0.1:8080):
                      PostgreSQL, MinIO, every function of stack.yml, gateway,
                      scheduler; state under $ONEWINDOW_DATA_DIR (default .data)
  redeploy <fn>       rebuild one function and swap its replicas in the running
                      stack without dropping requests (make redeploy FN=<fn>)
  call <fn> <METHOD> [path?query] [json]
                      a signed call as a demo app (-app id, default hebei-portal)
  apps <apps.json>    register or update apps (ids, secrets, roles, rates) in the
                      database of -database-url or $DATABASE_URL
  bench               load scenarios through a gateway (-gateway url), or through a
                      stack of its own (make bench)
  testenv -- cmd...   run cmd with an ephemeral PostgreSQL and MinIO (make test)

Run "onewindow <command> -h" for a command's flags.`)
}
