// Package idempotency gives POSTs that create something the Idempotency-Key
// semantics of contract section 0: the first answer to (app, function, key)
// is stored and replayed to every repeat with the same request; a repeat
// with another request is 409 idempotency_key_reused; a repeat that arrives
// while the first is in flight waits for it. The record lives in PostgreSQL,
// so this holds across replicas.
package idempotency

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/problem"
)

// Response is a stored answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Store keeps idempotency records in the idempotency_keys table.
type Store struct {
	db *pgxpool.Pool
	// Lease is how long a first request owns its key before another request
	// may take it over (the first one's replica died). It must outlast the
	// longest request: default 2 min.
	Lease time.Duration
	// Retention is how long keys are kept: at least the contract's 24 h;
	// default 25 h.
	Retention time.Duration
}

// New returns a store over db with the default lease and retention.
func New(db *pgxpool.Pool) *Store {
	return &Store{db: db, Lease: 2 * time.Minute, Retention: 25 * time.Hour}
}

// ValidKey checks the contract's key syntax: 1-128 printable ASCII characters.
func ValidKey(key string) error {
	if len(key) < 1 || len(key) > 128 {
		return problem.BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1-128 printable ASCII characters")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return problem.BadRequest("invalid_idempotency_key", "Idempotency-Key must be 1-128 printable ASCII characters")
		}
	}
	return nil
}

// RequestHash identifies a request for key reuse: the same key sent with
// another method, path, query or body is a different request.
func RequestHash(method, path, rawQuery string, body []byte) []byte {
	h := sha256.New()
	for _, s := range []string{method, path, rawQuery} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	h.Write(body)
	return h.Sum(nil)
}

// Do runs fn once for (app, function, key) and returns its answer, or the
// stored answer of an earlier run with replayed true. Answers of 500 and
// above are not stored: the key is released, so a retry runs again.
//
// Exactly one of several racing requests runs fn: the insert on the
// primary key idempotency_keys_pkey decides. The others poll until the
// first one has stored its answer, or its lease has run out, in which case
// one of them takes the key over and runs fn itself.
func (s *Store) Do(ctx context.Context, appID, function, key string, hash []byte,
	fn func(context.Context) (Response, error)) (resp Response, replayed bool, err error) {
	s.maybeSweep(ctx)
	wait := 5 * time.Millisecond
	for {
		lease, stored, err := s.claim(ctx, appID, function, key, hash)
		if err != nil {
			return Response{}, false, err
		}
		if stored != nil {
			return *stored, true, nil
		}
		if !lease.IsZero() {
			return s.run(ctx, claimID{appID, function, key, lease}, fn)
		}
		select {
		case <-ctx.Done():
			return Response{}, false, fmt.Errorf("wait for the request in flight with this Idempotency-Key: %w", ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// claim inserts the key in flight, or takes over an expired lease, or
// reads the stored answer. A non-zero lease means the caller owns the key
// and must run the request; it is also the token that proves ownership
// when the answer is stored (a later owner has another). stored is set
// when the request is already answered.
func (s *Store) claim(ctx context.Context, appID, function, key string, hash []byte) (lease time.Time, stored *Response, err error) {
	err = s.db.QueryRow(ctx, `
		INSERT INTO idempotency_keys (app_id, function, key, request_hash, state, lease_until, expires_at)
		VALUES ($1, $2, $3, $4, 'in_flight', now() + make_interval(secs => $5), now() + make_interval(secs => $6))
		ON CONFLICT (app_id, function, key) DO UPDATE
			SET lease_until = excluded.lease_until
			WHERE idempotency_keys.state = 'in_flight' AND idempotency_keys.lease_until < now()
			  AND idempotency_keys.request_hash = excluded.request_hash
		RETURNING lease_until`,
		appID, function, key, hash, s.Lease.Seconds(), s.Retention.Seconds()).Scan(&lease)
	if err == nil {
		return lease, nil, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	var (
		gotHash []byte
		state   string
		status  *int
		header  http.Header
		body    []byte
	)
	err = s.db.QueryRow(ctx, `SELECT request_hash, state, status, headers, body FROM idempotency_keys
		WHERE app_id = $1 AND function = $2 AND key = $3`, appID, function, key).
		Scan(&gotHash, &state, &status, &header, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil, nil // released or swept in between: claim again
	}
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("read idempotency key: %w", err)
	}
	if string(gotHash) != string(hash) {
		return time.Time{}, nil, problem.Conflict("idempotency_key_reused",
			"this Idempotency-Key was used with a different request")
	}
	if state == "done" && status != nil {
		return time.Time{}, &Response{Status: *status, Header: header, Body: body}, nil
	}
	return time.Time{}, nil, nil
}

// run calls fn and stores its answer, or releases the key when there is none to keep.
func (s *Store) run(ctx context.Context, c claimID, fn func(context.Context) (Response, error)) (Response, bool, error) {
	resp, err := fn(withClaim(ctx, c))
	// Store or release even when ctx ran out: the answer exists.
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err != nil || resp.Status >= 500 {
		if _, rerr := s.db.Exec(bg, `DELETE FROM idempotency_keys
			WHERE app_id = $1 AND function = $2 AND key = $3 AND state = 'in_flight' AND lease_until = $4`,
			c.app, c.function, c.key, c.lease); rerr != nil {
			err = errors.Join(err, fmt.Errorf("release idempotency key: %w", rerr))
		}
		return resp, false, err
	}
	if err := settle(bg, s.db, c, resp); err != nil && !errors.Is(err, errSettled) {
		return Response{}, false, err
	}
	return resp, false, nil
}

// claimID names the key a request owns while its handler runs, and the
// lease that proves it still does.
type claimID struct {
	app, function, key string
	lease              time.Time
}

type claimKey struct{}

func withClaim(ctx context.Context, c claimID) context.Context {
	return context.WithValue(ctx, claimKey{}, c)
}

// Tx is the part of a pgx transaction that Settle needs.
type Tx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// Settle stores resp as the answer to the key the request in ctx owns,
// inside the handler's own transaction, so that the answer commits with the
// records it describes: a crash after the commit replays it instead of
// creating them again once the lease runs out. Without an owned key in ctx
// (no Idempotency-Key sent) it does nothing.
//
// It fails when the request no longer owns the key (its lease ran out and
// another request took it over), so that the transaction rolls back and
// only one of the two commits: the client is told to retry, and gets the
// other one's answer.
func Settle(ctx context.Context, tx Tx, resp Response) error {
	c, ok := ctx.Value(claimKey{}).(claimID)
	if !ok {
		return nil
	}
	if err := settle(ctx, tx, c, resp); err != nil {
		if errors.Is(err, errSettled) {
			return problem.Unavailable("another request took this Idempotency-Key over; retry to get its answer")
		}
		return err
	}
	return nil
}

// errSettled: the key is not (or no longer) in flight under this lease;
// either this request stored its answer already or another owns the key.
var errSettled = errors.New("idempotency key not in flight under this lease")

func settle(ctx context.Context, tx Tx, c claimID, resp Response) error {
	header := resp.Header.Clone()
	header.Del("X-Request-Id")
	tag, err := tx.Exec(ctx, `UPDATE idempotency_keys SET state = 'done', status = $5, headers = $6, body = $7
		WHERE app_id = $1 AND function = $2 AND key = $3 AND state = 'in_flight' AND lease_until = $4`,
		c.app, c.function, c.key, c.lease, resp.Status, header, resp.Body)
	if err != nil {
		return fmt.Errorf("store idempotent answer: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errSettled
	}
	return nil
}

// sweepEvery is one in how many calls also deletes a batch of expired keys
// (index idempotency_keys_expires_at).
const sweepEvery = 200

func (s *Store) maybeSweep(ctx context.Context) {
	if rand.IntN(sweepEvery) != 0 {
		return
	}
	_, _ = s.db.Exec(ctx, `DELETE FROM idempotency_keys WHERE ctid IN (
		SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT 1000)`)
}
