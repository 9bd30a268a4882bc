// Package testenv hands tests the real PostgreSQL and MinIO that `make test`
// starts (infra/cmd/onewindow testenv): a fresh, migrated database and a
// fresh bucket name per call, so test packages running in parallel never
// see each other's rows or objects.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/store"
)

// Environment variables set by the test tooling.
const (
	EnvPostgresURL = "ONEWINDOW_TEST_PG_URL" // superuser URL of the maintenance database
	EnvS3Endpoint  = "ONEWINDOW_TEST_S3_ENDPOINT"
	EnvS3AccessKey = "ONEWINDOW_TEST_S3_ACCESS_KEY"
	EnvS3SecretKey = "ONEWINDOW_TEST_S3_SECRET_KEY"
)

const howToRun = "run the tests with `make test`, which starts PostgreSQL and MinIO and sets it"

// DatabaseURL creates a new empty database with every migration applied and
// returns its URL. The database is dropped when the test ends.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresURL)
	if admin == "" {
		t.Fatalf("%s is not set: %s", EnvPostgresURL, howToRun)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := "t_" + randomHex(8)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("connect to test PostgreSQL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgresURL, err)
	}
	u.Path = "/" + name
	dbURL := u.String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, admin); err == nil {
			_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			conn.Close(ctx)
		}
	})
	pool, err := store.Open(ctx, dbURL, store.PoolOptions{MaxConns: 2})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return dbURL
}

// Pool is DatabaseURL opened as a pool of up to 8 connections, closed
// when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := store.Open(context.Background(), DatabaseURL(t), store.PoolOptions{MaxConns: 8})
	if err != nil {
		t.Fatalf("open test pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ObjectStore returns settings for the test MinIO with a bucket name no
// other test uses. The bucket does not exist yet.
func ObjectStore(t testing.TB) config.ObjectStore {
	t.Helper()
	endpoint := os.Getenv(EnvS3Endpoint)
	if endpoint == "" {
		t.Fatalf("%s is not set: %s", EnvS3Endpoint, howToRun)
	}
	return config.ObjectStore{
		Driver:    "minio",
		Endpoint:  endpoint,
		Region:    "us-east-1",
		Bucket:    "t-" + randomHex(8),
		AccessKey: os.Getenv(EnvS3AccessKey),
		SecretKey: os.Getenv(EnvS3SecretKey),
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
