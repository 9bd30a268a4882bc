package auth

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// NonceWindow is how long a nonce is remembered: a second request from the
// same app with the same nonce within it is a replay. It is wider than the
// timestamp window (±300 s), so a replayed request is refused either way.
const NonceWindow = 10 * time.Minute

// NonceGuard remembers (app, nonce) pairs in PostgreSQL, so every replica of
// every function refuses a replay that another one accepted.
//
// Every write request needs one, so a replica commits them in batches: the
// nonces that arrive while one batch is in the database go together in the
// next statement (group commit). A lone request waits for nobody; under
// load the database sees one commit per batch instead of one per request.
type NonceGuard struct {
	db *pgxpool.Pool

	mu       sync.Mutex
	waiting  []*nonceAsk // for the next batch
	flushing bool        // a goroutine is writing batches
}

type nonceAsk struct {
	app, nonce string
	fresh      bool
	err        error
	done       chan struct{}
}

// NewNonceGuard returns a guard over db's request_nonces table.
func NewNonceGuard(db *pgxpool.Pool) *NonceGuard { return &NonceGuard{db: db} }

const (
	// maxNonceBatch bounds one statement; more wait for the next.
	maxNonceBatch = 500
	// sweepEvery is one in how many nonces also deletes expired ones, so
	// the table stays near one window's worth of rows without a separate job.
	sweepEvery = 500
	// batchTimeout bounds one batch's statement. It does not follow any one
	// request's context: the batch answers other requests too.
	batchTimeout = 5 * time.Second
)

// Remember records the pair and reports whether it is fresh (not seen in the
// last NonceWindow). A pair older than the window is taken over: the
// conditional upsert makes exactly one of two racing requests fresh.
func (g *NonceGuard) Remember(ctx context.Context, appID, nonce string) (fresh bool, err error) {
	ask := &nonceAsk{app: appID, nonce: nonce, done: make(chan struct{})}
	g.mu.Lock()
	g.waiting = append(g.waiting, ask)
	start := !g.flushing
	g.flushing = true
	g.mu.Unlock()
	if start {
		go g.flush(context.WithoutCancel(ctx))
	}
	select {
	case <-ask.done:
		return ask.fresh, ask.err
	case <-ctx.Done():
		return false, fmt.Errorf("remember nonce: %w", ctx.Err())
	}
}

// flush writes batches until nobody is waiting.
func (g *NonceGuard) flush(ctx context.Context) {
	for {
		g.mu.Lock()
		n := min(len(g.waiting), maxNonceBatch)
		if n == 0 {
			g.flushing = false
			g.mu.Unlock()
			return
		}
		batch := slices.Clone(g.waiting[:n])
		g.waiting = slices.Delete(g.waiting, 0, n)
		g.mu.Unlock()

		bctx, cancel := context.WithTimeout(ctx, batchTimeout)
		g.rememberBatch(bctx, batch)
		if rand.IntN(sweepEvery) < len(batch) {
			g.sweep(bctx)
		}
		cancel()
	}
}

// rememberBatch upserts the batch in one statement and answers every ask.
// The pairs go in sorted order, so two replicas' batches lock the same rows
// in the same order and cannot deadlock; a pair twice in one batch is one
// row, fresh for its first ask only.
func (g *NonceGuard) rememberBatch(ctx context.Context, batch []*nonceAsk) {
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
		err = fmt.Errorf("remember %d nonces: %w", len(apps), err)
	}
	for _, a := range batch {
		k := [2]string{a.app, a.nonce}
		a.fresh, a.err = fresh[k], err
		delete(fresh, k) // a second ask for the same pair is the replay
		close(a.done)
	}
}

// sweep deletes a bounded batch of expired nonces (index request_nonces_seen_at).
// A failure is harmless: the next sweep does it.
func (g *NonceGuard) sweep(ctx context.Context) {
	_, _ = g.db.Exec(ctx, `
		DELETE FROM request_nonces WHERE ctid IN (
			SELECT ctid FROM request_nonces WHERE seen_at < now() - make_interval(secs => $1) LIMIT 5000)`,
		NonceWindow.Seconds())
}
