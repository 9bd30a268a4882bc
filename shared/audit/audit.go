// Package audit records who changed what: every write a function answers
// with 2xx becomes one audit_log row. License uses and attachment fetches
// are recorded by their own packages in the transaction that hands them
// out; the audit_trail view reads all three.
package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// Write is one answered write request.
type Write struct {
	AppID    string
	Function string
	Method   string
	// Route is the route's pattern (/cases/{serial}/events); Path the
	// subpath as called, with the record's ids.
	Route     string
	Path      string
	Status    int
	RequestID string
}

// Execer is a pool or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// IsWrite reports whether a request with this method and answer status is
// one the trail keeps: a method that changes something, answered 2xx.
func IsWrite(method string, status int) bool {
	return method != "GET" && method != "HEAD" && method != "OPTIONS" && status >= 200 && status < 300
}

// Record appends w to the trail.
func Record(ctx context.Context, db Execer, w Write) error {
	if _, err := db.Exec(ctx, `
		INSERT INTO audit_log (app_id, function, method, route, path, status, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		w.AppID, w.Function, w.Method, w.Route, w.Path, w.Status, w.RequestID); err != nil {
		return fmt.Errorf("record audit entry for %s %s: %w", w.Method, w.Route, err)
	}
	return nil
}
