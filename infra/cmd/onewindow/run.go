package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onewindow/onewindow/infra/localstack"
)

// cmdRun starts the local stack and serves until Ctrl-C or SIGTERM (make run).
//
// Environment: ONEWINDOW_ADDR (gateway, default 127.0.0.1:8080),
// ONEWINDOW_DATA_DIR (default .data), ONEWINDOW_APPS_FILE (default
// infra/local/apps.json), DATABASE_URL and S3_ENDPOINT/S3_ACCESS_KEY/
// S3_SECRET_KEY/S3_DRIVER/S3_BUCKET for external dependencies.
func cmdRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	root := fs.String("root", "", "repository root (default: the directory holding stack.yml, from the working directory up)")
	addr := fs.String("addr", envOr("ONEWINDOW_ADDR", localstack.DefaultAddr), "gateway listen address")
	dataDir := fs.String("data", envOr("ONEWINDOW_DATA_DIR", localstack.DefaultDataDir), "data directory")
	appsFile := fs.String("apps", os.Getenv("ONEWINDOW_APPS_FILE"), "apps file (default <root>/"+localstack.DefaultAppsFile+")")
	allowRemote := fs.Bool("allow-remote", false, "let the gateway listen on a non-loopback address (its /system/ API has no authentication)")
	_ = fs.Parse(args)
	if fs.NArg() > 0 {
		return fmt.Errorf("run takes no arguments, got %q", fs.Args())
	}
	if *root == "" {
		r, err := findRepoRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	return localstack.Run(ctx, localstack.Config{
		RepoRoot:    *root,
		DataDir:     *dataDir,
		Addr:        *addr,
		AllowRemote: *allowRemote,
		AppsFile:    *appsFile,
	})
}

// findRepoRoot returns the nearest directory, from the working directory
// up, that holds stack.yml and templates/.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, errStack := os.Stat(filepath.Join(dir, "stack.yml"))
		_, errTemplates := os.Stat(filepath.Join(dir, "templates"))
		if errStack == nil && errTemplates == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no stack.yml with templates/ here or above: run from the repository, or pass -root")
		}
		dir = parent
	}
}
