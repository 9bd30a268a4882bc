// Package audit records who changed what: every write a function answers
// with 2xx becomes one audit_log row. License uses and attachment fetches
// are recorded by their own packages in the transaction that hands them
// out; the audit_trail view reads all three.
package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onewindow/onewindow/shared/internal/groupcommit"
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

// Execer is a pool (or anything that runs a statement).
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// IsWrite reports whether a request with this method and answer status is
// one the trail keeps: a method that changes something, answered 2xx.
func IsWrite(method string, status int) bool {
	return method != "GET" && method != "HEAD" && method != "OPTIONS" && status >= 200 && status < 300
}

// Trail appends writes to audit_log. Every write request of a replica adds
// a row, so the rows of concurrent requests go in one statement (group
// commit); each Record still returns once its row is committed.
type Trail struct {
	db    Execer
	batch *groupcommit.Batcher[Write]
}

// NewTrail returns a trail over db (a pool).
func NewTrail(db Execer) *Trail {
	t := &Trail{db: db}
	t.batch = groupcommit.New(500, 5*time.Second, t.insert)
	return t
}

// Record appends w to the trail.
func (t *Trail) Record(ctx context.Context, w Write) error {
	if err := t.batch.Do(ctx, w); err != nil {
		return fmt.Errorf("record audit entry for %s %s: %w", w.Method, w.Route, err)
	}
	return nil
}

func (t *Trail) insert(ctx context.Context, batch []Write) error {
	n := len(batch)
	apps, fns, methods, routes, paths, reqs := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	statuses := make([]int16, n)
	for i, w := range batch {
		apps[i], fns[i], methods[i], routes[i], paths[i], reqs[i] = w.AppID, w.Function, w.Method, w.Route, w.Path, w.RequestID
		statuses[i] = int16(w.Status)
	}
	_, err := t.db.Exec(ctx, `
		INSERT INTO audit_log (app_id, function, method, route, path, status, request_id)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[], $7::text[])`,
		apps, fns, methods, routes, paths, statuses, reqs)
	if err != nil {
		return fmt.Errorf("insert %d audit rows: %w", n, err)
	}
	return nil
}
