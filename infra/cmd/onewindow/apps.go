package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/store"
)

// cmdApps registers apps on a deployment: it validates an apps file (the
// format of ONEWINDOW_APPS_FILE) and upserts every entry into the apps table
// in one transaction, after migrating the schema. Replicas see the change
// within their registry's 5 s cache.
func cmdApps(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("apps", flag.ExitOnError)
	dbURL := fs.String("database-url", os.Getenv("DATABASE_URL"), "the deployment's PostgreSQL")
	_ = fs.Parse(args)
	if fs.NArg() != 1 || *dbURL == "" {
		return errors.New("usage: onewindow apps [-database-url url] <apps.json>  (or DATABASE_URL)")
	}
	apps, err := auth.ReadAppsFile(fs.Arg(0))
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, *dbURL, store.PoolOptions{MaxConns: 2, ApplicationName: "onewindow-apps"})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		return err
	}
	if err := auth.SaveApps(ctx, db, apps); err != nil {
		return err
	}
	fmt.Printf("%d apps saved\n", len(apps))
	return nil
}
