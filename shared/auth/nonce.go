package auth

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// NonceWindow is how long a nonce is remembered: a second request from the
// same app with the same nonce within it is a replay. It is wider than the
// timestamp window (±300 s), so a replayed request is refused either way.
const NonceWindow = 10 * time.Minute

// NonceGuard remembers (app, nonce) pairs in PostgreSQL, so every replica of
// every function refuses a replay that another one accepted.
type NonceGuard struct {
	db *pgxpool.Pool
}

// NewNonceGuard returns a guard over db's request_nonces table.
func NewNonceGuard(db *pgxpool.Pool) *NonceGuard { return &NonceGuard{db: db} }

// sweepEvery is one in how many calls also deletes expired nonces, so the
// table stays near one window's worth of rows without a separate job.
const sweepEvery = 500

// Remember records the pair and reports whether it is fresh (not seen in the
// last NonceWindow). A pair older than the window is taken over: the
// conditional upsert makes exactly one of two racing requests fresh.
func (g *NonceGuard) Remember(ctx context.Context, appID, nonce string) (fresh bool, err error) {
	// request_nonces_pkey (app_id, nonce) arbitrates the race.
	tag, err := g.db.Exec(ctx, `
		INSERT INTO request_nonces (app_id, nonce) VALUES ($1, $2)
		ON CONFLICT (app_id, nonce) DO UPDATE SET seen_at = now()
		WHERE request_nonces.seen_at < now() - make_interval(secs => $3)`,
		appID, nonce, NonceWindow.Seconds())
	if err != nil {
		return false, fmt.Errorf("remember nonce: %w", err)
	}
	if rand.IntN(sweepEvery) == 0 {
		g.sweep(ctx)
	}
	return tag.RowsAffected() == 1, nil
}

// sweep deletes a bounded batch of expired nonces (index request_nonces_seen_at).
// A failure is harmless: the next sweep does it.
func (g *NonceGuard) sweep(ctx context.Context) {
	_, _ = g.db.Exec(ctx, `
		DELETE FROM request_nonces WHERE ctid IN (
			SELECT ctid FROM request_nonces WHERE seen_at < now() - make_interval(secs => $1) LIMIT 5000)`,
		NonceWindow.Seconds())
}
