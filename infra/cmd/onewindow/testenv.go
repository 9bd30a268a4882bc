package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"github.com/onewindow/onewindow/infra/localdeps"
)

// cmdTestenv starts an ephemeral PostgreSQL and MinIO, runs the given command
// with their addresses in the environment (see shared/testenv) and stops them.
// `make test` is `onewindow testenv -- go test ./...`.
func cmdTestenv(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("testenv", flag.ExitOnError)
	keep := fs.Bool("keep", false, "keep the temporary data directory")
	_ = fs.Parse(args)
	argv := fs.Args()
	if len(argv) == 0 {
		return errors.New("usage: onewindow testenv [-keep] -- command [args...]")
	}
	dir, err := os.MkdirTemp("", "onewindow-test-")
	if err != nil {
		return fmt.Errorf("create temp dir: %w", err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(filepath.Join(os.TempDir(), "onewindow-testenv.log"))
	if err != nil {
		return err
	}
	defer logf.Close()

	slog.Info("starting test PostgreSQL")
	pg, err := localdeps.StartPostgres(ctx, localdeps.PostgresOptions{Dir: filepath.Join(dir, "pg"), Ephemeral: true, Log: logf})
	if err != nil {
		return err
	}
	defer pg.Stop()
	slog.Info("starting test MinIO")
	mi, err := localdeps.StartMinIO(ctx, localdeps.MinIOOptions{Dir: filepath.Join(dir, "minio"), Log: logf})
	if err != nil {
		return err
	}
	defer mi.Stop()
	slog.Info("test servers ready", "postgres", pg.Port, "minio", mi.Endpoint, "log", logf.Name())

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"ONEWINDOW_TEST_PG_URL="+pg.AdminURL,
		"ONEWINDOW_TEST_S3_ENDPOINT="+mi.Endpoint,
		"ONEWINDOW_TEST_S3_ACCESS_KEY="+mi.AccessKey,
		"ONEWINDOW_TEST_S3_SECRET_KEY="+mi.SecretKey,
	)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	return cmd.Run()
}
