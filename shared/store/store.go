// Package store owns OneWindow's PostgreSQL access: a pgx pool sized for many
// small function replicas, the embedded schema migrations, and the test that
// tells a database outage (503) from a bug (500).
package store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolOptions size a replica's pool.
type PoolOptions struct {
	// MaxConns caps open connections (default 4). A replica serves one
	// function; OpenFaaS may run dozens of them, and PostgreSQL's
	// max_connections is shared by all.
	MaxConns int32
	// MaxConnIdleTime closes connections idle this long (default 1 min), so a
	// replica scaled down to idle holds nothing.
	MaxConnIdleTime time.Duration
	// ApplicationName shows in pg_stat_activity (default "onewindow").
	ApplicationName string
}

// Open returns a pool for url. It does not connect: the first query does, so
// a replica is ready at once and a database outage surfaces per request.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("open database: no URL (set the database-url secret or DATABASE_URL)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	cfg.MaxConns = max(opts.MaxConns, 1)
	if opts.MaxConns == 0 {
		cfg.MaxConns = 4
	}
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = opts.MaxConnIdleTime
	if cfg.MaxConnIdleTime == 0 {
		cfg.MaxConnIdleTime = time.Minute
	}
	cfg.HealthCheckPeriod = 15 * time.Second
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	}
	name := opts.ApplicationName
	if name == "" {
		name = "onewindow"
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	// Instants are stored as timestamptz; sessions speak UTC and the code
	// converts to Asia/Shanghai where a calendar date is meant.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create database pool: %w", err)
	}
	return pool, nil
}

// IsUnavailable reports whether err means the database could not be reached
// or is shutting down, as opposed to a query the database rejected. Callers
// answer 503 with Retry-After for these.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now; 53300: too many connections.
		switch {
		case len(pgErr.Code) == 5 && pgErr.Code[:2] == "08",
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03",
			pgErr.Code == "53300":
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, context.DeadlineExceeded)
}
