package store_test

import (
	"context"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/onewindow/onewindow/shared/store"
	"github.com/onewindow/onewindow/shared/testenv"
)

// Replicas starting together all run Migrate; each step must apply once.
func TestMigrateConcurrently(t *testing.T) {
	url := testenv.DatabaseURL(t) // already migrated once
	ctx := context.Background()
	var g errgroup.Group
	for range 6 {
		g.Go(func() error {
			pool, err := store.Open(ctx, url, store.PoolOptions{MaxConns: 1})
			if err != nil {
				return err
			}
			defer pool.Close()
			return store.Migrate(ctx, pool)
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("concurrent migrate: %v", err)
	}
	steps, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	check, err := store.Open(ctx, url, store.PoolOptions{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close()
	var n, last int
	if err := check.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &last); err != nil {
		t.Fatal(err)
	}
	if n != len(steps) || last != steps[len(steps)-1].Version {
		t.Fatalf("schema_migrations has %d rows up to %d, want %d up to %d", n, last, len(steps), steps[len(steps)-1].Version)
	}
}

func TestOpenDoesNotConnect(t *testing.T) {
	// Nothing listens on port 1: Open must still succeed (replicas start
	// instantly), and the first query must fail as "unavailable".
	pool, err := store.Open(context.Background(), "postgres://x@127.0.0.1:1/db?sslmode=disable&connect_timeout=1", store.PoolOptions{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer pool.Close()
	err = pool.Ping(context.Background())
	if err == nil {
		t.Fatal("ping of a closed port succeeded")
	}
	if !store.IsUnavailable(err) {
		t.Fatalf("IsUnavailable(%v) = false, want true", err)
	}
}
