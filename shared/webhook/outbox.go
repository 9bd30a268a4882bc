package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Message is one delivery to enqueue.
type Message struct {
	// Stream orders deliveries: those of one stream are sent one at a
	// time, in the order their transactions committed. A case's serial
	// (each child case of a bundle its own). Required, at most 128 bytes.
	Stream string
	// Department is the receiving department's code, passed to Endpoints
	// at each attempt. Required.
	Department string
	// Type names the delivery in the case view, e.g. case.submitted,
	// case.event, card.issued. Required, at most 64 bytes. It is not added
	// to Body: the body carries its own type.
	Type string
	// Body is the JSON sent, byte for byte, on every attempt. Required.
	Body []byte
}

const (
	maxStreamLen = 128
	maxTypeLen   = 64
)

func (m Message) validate() error {
	switch {
	case m.Stream == "" || len(m.Stream) > maxStreamLen || !utf8.ValidString(m.Stream):
		return fmt.Errorf("webhook message: stream must be 1-%d bytes of UTF-8", maxStreamLen)
	case m.Department == "":
		return errors.New("webhook message: no department")
	case m.Type == "" || len(m.Type) > maxTypeLen:
		return fmt.Errorf("webhook message: type must be 1-%d bytes", maxTypeLen)
	case !json.Valid(m.Body):
		return errors.New("webhook message: body is not valid JSON")
	}
	return nil
}

// idPrefix starts every webhook-id, as in the Standard Webhooks examples.
const idPrefix = "msg_"

func webhookID(id uuid.UUID) string { return idPrefix + id.String() }

// Enqueue writes m to the outbox within tx and returns its webhook-id. The
// delivery exists if and only if tx commits; call Kick after the commit.
//
// Enqueue holds a lock on m.Stream's row of webhook_streams until tx ends,
// so concurrent transactions enqueueing to one stream wait for each other:
// keep such transactions short. It relies on READ COMMITTED (pgx's
// default); under REPEATABLE READ or SERIALIZABLE a concurrent finish in
// the same stream makes it fail with a serialization error instead, which
// the caller retries like any other.
func (d *Deliverer) Enqueue(ctx context.Context, tx pgx.Tx, m Message) (string, error) {
	if err := m.validate(); err != nil {
		return "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("enqueue webhook for stream %s: new id: %w", m.Stream, err)
	}
	// The stream's row lock is taken first, in its own statement, so the
	// insert below sees (with a fresh snapshot) whether a finisher has
	// just moved the stream on; see finish.
	if _, err := tx.Exec(ctx, numberSQL, m.Stream); err != nil {
		return "", fmt.Errorf("enqueue webhook for stream %s: number it: %w", m.Stream, err)
	}
	if _, err := tx.Exec(ctx, insertSQL, id, m.Stream, m.Department, m.Type, m.Body, d.cfg.Now()); err != nil {
		return "", fmt.Errorf("enqueue webhook for stream %s: %w", m.Stream, err)
	}
	return webhookID(id), nil
}

// EnqueueInBatch queues the two statements of Enqueue into b, a batch the
// caller sends in its transaction: for writers of many deliveries at once
// (the supervision scan), one round trip instead of two per delivery.
// Statements of a batch run in order, each with a fresh snapshot, so the
// reasoning of Enqueue holds, also for several messages of one stream.
func (d *Deliverer) EnqueueInBatch(b *pgx.Batch, m Message) (string, error) {
	if err := m.validate(); err != nil {
		return "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("enqueue webhook for stream %s: new id: %w", m.Stream, err)
	}
	b.Queue(numberSQL, m.Stream)
	b.Queue(insertSQL, id, m.Stream, m.Department, m.Type, m.Body, d.cfg.Now())
	return webhookID(id), nil
}

// numberSQL takes the next number of a stream and holds its row lock.
const numberSQL = `
	INSERT INTO webhook_streams (stream, last_seq) VALUES ($1, 1)
	ON CONFLICT (stream) DO UPDATE SET last_seq = webhook_streams.last_seq + 1`

// insertSQL writes the delivery with the number just taken: due at once
// when it is the stream's head, else waiting (NULL) until the delivery
// before it finishes. Index webhook_deliveries_pending.
const insertSQL = `
	INSERT INTO webhook_deliveries (id, stream, seq, department, type, body, created_at, next_attempt_at)
	VALUES ($1, $2, (SELECT last_seq FROM webhook_streams WHERE stream = $2), $3, $4, $5, $6::timestamptz,
		CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries WHERE stream = $2 AND state = 'pending')
		THEN NULL ELSE $6::timestamptz END)`

// claimed is a delivery this replica holds the lease of.
type claimed struct {
	id         uuid.UUID
	stream     string
	seq        int64
	department string
	typ        string
	body       []byte
	attempts   int // including this one: the fencing token of its updates
	createdAt  time.Time
}

// claim leases up to n due deliveries (stream heads only: nothing else has
// a next_attempt_at) and counts an attempt for each. One statement, so
// the row locks last only as long as it does; the lease, written into
// next_attempt_at, keeps other replicas off afterwards. SKIP LOCKED lets
// racing replicas take different rows. Index webhook_deliveries_due, which
// also gives the order; the query leaves out state = 'pending' (implied by
// a CHECK) because with it the planner may prefer the pending index and
// sort every due row.
func (d *Deliverer) claim(ctx context.Context, n int) ([]claimed, error) {
	now := d.cfg.Now()
	rows, err := d.db.Query(ctx, `
		UPDATE webhook_deliveries w
		SET attempts = w.attempts + 1, next_attempt_at = $2
		FROM (
			SELECT id FROM webhook_deliveries
			WHERE next_attempt_at <= $1
			ORDER BY next_attempt_at
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		) due
		WHERE w.id = due.id
		RETURNING w.id, w.stream, w.seq, w.department, w.type, w.body, w.attempts, w.created_at`,
		now, now.Add(d.cfg.Lease), n)
	if err != nil {
		return nil, fmt.Errorf("claim due webhook deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		err := r.Scan(&c.id, &c.stream, &c.seq, &c.department, &c.typ, &c.body, &c.attempts, &c.createdAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim due webhook deliveries: %w", err)
	}
	return out, nil
}

// errLeaseLost means another replica took the delivery over (our lease ran
// out) before this one recorded its outcome: the update changed nothing.
var errLeaseLost = errors.New("lease lost: another replica took the delivery over")

// reschedule records a failed attempt (or one abandoned at shutdown) and
// when to try again.
func (d *Deliverer) reschedule(ctx context.Context, c claimed, next time.Time, reason string) error {
	tag, err := d.db.Exec(ctx, `
		UPDATE webhook_deliveries SET next_attempt_at = $3, last_error = $4
		WHERE id = $1 AND attempts = $2 AND state = 'pending'`,
		c.id, c.attempts, next, reason)
	if err != nil {
		return fmt.Errorf("reschedule webhook %s: %w", webhookID(c.id), err)
	}
	if tag.RowsAffected() == 0 {
		return errLeaseLost
	}
	return nil
}

// finish records a delivery as delivered or failed and makes the next one
// of its stream due at once. An empty reason keeps the last error (a
// success after failures still shows why the earlier attempts failed).
//
// It first updates the stream's row, which waits for any transaction
// enqueueing to the stream to end. Either that enqueuer committed first,
// and the statements below (fresh snapshots) see its row and wake it; or
// this finish commits first, and the enqueuer's insert sees nothing
// pending and makes its row due itself. Without the lock both could miss
// each other and leave a row waiting forever.
func (d *Deliverer) finish(ctx context.Context, c claimed, state State, reason string) error {
	now := d.cfg.Now()
	err := pgx.BeginFunc(ctx, d.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE webhook_streams SET finished_seq = $2 WHERE stream = $1`,
			c.stream, c.seq); err != nil {
			return err
		}
		// The successor is the stream's lowest pending seq above this one
		// (index webhook_deliveries_pending). Nothing is woken when the
		// fencing check (attempts) fails; the caller then rolls back.
		var recorded bool
		err := tx.QueryRow(ctx, `
			WITH done AS (
				UPDATE webhook_deliveries
				SET state = $3, finished_at = $4, next_attempt_at = NULL,
					last_error = coalesce(nullif($5, ''), last_error)
				WHERE id = $1 AND attempts = $2 AND state = 'pending'
				RETURNING stream, seq
			), woken AS (
				UPDATE webhook_deliveries SET next_attempt_at = $4
				WHERE id = (
					SELECT w.id FROM webhook_deliveries w, done
					WHERE w.stream = done.stream AND w.state = 'pending' AND w.seq > done.seq
					ORDER BY w.seq LIMIT 1)
				AND next_attempt_at IS NULL
				RETURNING id
			)
			SELECT EXISTS (SELECT 1 FROM done)`,
			c.id, c.attempts, string(state), now, reason).Scan(&recorded)
		if err != nil {
			return err
		}
		if !recorded {
			return errLeaseLost
		}
		return nil
	})
	if errors.Is(err, errLeaseLost) {
		return err
	}
	if err != nil {
		return fmt.Errorf("record webhook %s as %s: %w", webhookID(c.id), state, err)
	}
	return nil
}
