package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// State is where a delivery stands.
type State string

const (
	// StatePending: not answered 2xx yet and still being retried, or
	// waiting for an earlier delivery of its stream.
	StatePending State = "pending"
	// StateDelivered: the receiver answered 2xx.
	StateDelivered State = "delivered"
	// StateFailed: parked after failing for Config.RetryFor; never retried.
	StateFailed State = "failed"
)

// Delivery is one delivery as the case view shows it. The JSON form is the
// contract's entry of a case's deliveries list.
type Delivery struct {
	// ID is the webhook-id header, the same on every attempt.
	ID string `json:"webhookId"`
	// Seq numbers the deliveries of one stream from 1, in commit order.
	Seq        int64  `json:"seq"`
	Type       string `json:"type"`
	Department string `json:"department"`
	State      State  `json:"state"`
	// Attempts counts attempts started, including one in flight.
	Attempts int `json:"attempts"`
	// LastError is why the latest failed attempt failed ("HTTP 503", "no
	// answer within 10s", "department has no webhook URL", ...); empty if
	// none failed. It is kept after a later success. Never a URL or secret.
	LastError string    `json:"lastError,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// NextAttemptAt is when a pending delivery is tried next (while an
	// attempt is in flight: when its lease ends). Zero for a pending
	// delivery waiting for an earlier one of its stream, and once finished.
	NextAttemptAt time.Time `json:"nextAttemptAt,omitzero"`
	// DeliveredAt is when the 2xx answer came; zero unless delivered.
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
	// FailedAt is when the delivery was parked; zero unless failed.
	FailedAt time.Time `json:"failedAt,omitzero"`
}

// Querier reads the outbox: *pgxpool.Pool, *pgxpool.Conn and pgx.Tx
// satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// List returns the deliveries of stream in stream order; none is an empty
// list. Served by the (stream, seq) unique index.
func List(ctx context.Context, q Querier, stream string) ([]Delivery, error) {
	rows, err := q.Query(ctx, `
		SELECT id, seq, type, department, state, attempts, last_error, created_at, next_attempt_at, finished_at
		FROM webhook_deliveries WHERE stream = $1 ORDER BY seq`, stream)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries of %s: %w", stream, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var (
			d              Delivery
			id             uuid.UUID
			next, finished *time.Time
		)
		if err := r.Scan(&id, &d.Seq, &d.Type, &d.Department, &d.State, &d.Attempts, &d.LastError,
			&d.CreatedAt, &next, &finished); err != nil {
			return d, err
		}
		d.ID = webhookID(id)
		if next != nil {
			d.NextAttemptAt = *next
		}
		if finished != nil {
			switch d.State {
			case StateDelivered:
				d.DeliveredAt = *finished
			case StateFailed:
				d.FailedAt = *finished
			}
		}
		return d, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries of %s: %w", stream, err)
	}
	if out == nil {
		out = []Delivery{}
	}
	return out, nil
}
