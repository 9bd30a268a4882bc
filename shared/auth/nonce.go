package auth

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/internal/groupcommit"
)

// NonceWindow is how long a nonce is remembered: a second request from the
// same app with the same nonce within it is a replay. It is wider than the
// timestamp window (±300 s), so a replayed request is refused either way.
const NonceWindow = 10 * time.Minute

// NonceGuard remembers (app, nonce) pairs in PostgreSQL, so every replica of
// every function refuses a replay that another one accepted. Every write
// request needs one, so a replica commits them in batches
// (shared/internal/groupcommit).
type NonceGuard struct {
	db    *pgxpool.Pool
	batch *groupcommit.Batcher[*nonceAsk]
}

type nonceAsk struct {
	app, nonce string
	fresh      bool // set by rememberBatch
}

// NewNonceGuard returns a guard over db's request_nonces table.
func NewNonceGuard(db *pgxpool.Pool) *NonceGuard {
	g := &NonceGuard{db: db}
	g.batch = groupcommit.New(maxNonceBatch, 5*time.Second, g.rememberBatch)
	return g
}

const (
	// maxNonceBatch bounds one statement; more wait for the next.
	maxNonceBatch = 500
	// sweepEvery is one in how many nonces also deletes expired ones, so
	// the table stays near one window's worth of rows without a separate job.
	sweepEvery = 500
)

// Remember records the pair and reports whether it is fresh (not seen in the
// last NonceWindow). A pair older than the window is taken over: the
// conditional upsert makes exactly one of two racing requests fresh.
func (g *NonceGuard) Remember(ctx context.Context, appID, nonce string) (fresh bool, err error) {
	ask := &nonceAsk{app: appID, nonce: nonce}
	if err := g.batch.Do(ctx, ask); err != nil {
		return false, err
	}
	return ask.fresh, nil
}

// rememberBatch upserts the batch in one statement and answers every ask.
// The pairs go in sorted order, so two replicas' batches lock the same rows
// in the same order and cannot deadlock; a pair twice in one batch is one
// row, fresh for its first ask only.
func (g *NonceGuard) rememberBatch(ctx context.Context, batch []*nonceAsk) error {
	slices.SortStableFunc(batch, func(a, b *nonceAsk) int {
		return cmp.Or(cmp.Compare(a.app, b.app), cmp.Compare(a.nonce, b.nonce))
	})
	apps := make([]string, 0, len(batch))
	nonces := make([]string, 0, len(batch))
	for i, a := range batch {
		if i > 0 && a.app == batch[i-1].app && a.nonce == batch[i-1].nonce {
			continue
		}
		apps, nonces = append(apps, a.app), append(nonces, a.nonce)
	}
	fresh := map[[2]string]bool{}
	// request_nonces_pkey (app_id, nonce) arbitrates races between replicas.
	rows, err := g.db.Query(ctx, `
		INSERT INTO request_nonces (app_id, nonce)
		SELECT * FROM unnest($1::text[], $2::text[])
		ON CONFLICT (app_id, nonce) DO UPDATE SET seen_at = now()
		WHERE request_nonces.seen_at < now() - make_interval(secs => $3)
		RETURNING app_id, nonce`,
		apps, nonces, NonceWindow.Seconds())
	if err == nil {
		for rows.Next() {
			var k [2]string
			if err = rows.Scan(&k[0], &k[1]); err != nil {
				break
			}
			fresh[k] = true
		}
		rows.Close()
		err = cmp.Or(err, rows.Err())
	}
	if err != nil {
		return fmt.Errorf("remember %d nonces: %w", len(apps), err)
	}
	for _, a := range batch {
		k := [2]string{a.app, a.nonce}
		a.fresh = fresh[k]
		delete(fresh, k) // a second ask for the same pair is the replay
	}
	if rand.IntN(sweepEvery) < len(batch) {
		g.sweep(ctx)
	}
	return nil
}

// sweep deletes a bounded batch of expired nonces (index request_nonces_seen_at).
// A failure is harmless: the next sweep does it.
func (g *NonceGuard) sweep(ctx context.Context) {
	_, _ = g.db.Exec(ctx, `
		DELETE FROM request_nonces WHERE ctid IN (
			SELECT ctid FROM request_nonces WHERE seen_at < now() - make_interval(secs => $1) LIMIT 5000)`,
		NonceWindow.Seconds())
}
