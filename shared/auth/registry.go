package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/singleflight"
)

// Registry looks apps up in the apps table and keeps each answer, found or
// not, for TTL, so a replica asks the database about an app at most once per
// TTL however many requests it serves. A changed secret or role is in force
// on every replica within TTL.
type Registry struct {
	db  *pgxpool.Pool
	ttl time.Duration

	mu    sync.Mutex
	cache map[string]cachedApp
	group singleflight.Group
}

type cachedApp struct {
	rec     AppRecord
	found   bool
	fetched time.Time
}

// maxCachedApps bounds the cache: unknown ids sent by strangers are cached
// too, and must not grow it without limit.
const maxCachedApps = 10_000

// NewRegistry returns a registry over db; ttl 0 means 5 s.
func NewRegistry(db *pgxpool.Pool, ttl time.Duration) *Registry {
	if ttl <= 0 {
		ttl = 5 * time.Second
	}
	return &Registry{db: db, ttl: ttl, cache: map[string]cachedApp{}}
}

// Lookup returns the enabled app called id; found is false when there is none.
func (r *Registry) Lookup(ctx context.Context, id string) (rec AppRecord, found bool, err error) {
	now := time.Now()
	r.mu.Lock()
	c, ok := r.cache[id]
	r.mu.Unlock()
	if ok && now.Sub(c.fetched) < r.ttl {
		return c.rec, c.found, nil
	}
	v, err, _ := r.group.Do(id, func() (any, error) {
		rec, found, err := r.fetch(ctx, id)
		if err != nil {
			return nil, err
		}
		c := cachedApp{rec: rec, found: found, fetched: time.Now()}
		r.mu.Lock()
		if len(r.cache) >= maxCachedApps {
			clear(r.cache)
		}
		r.cache[id] = c
		r.mu.Unlock()
		return c, nil
	})
	if err != nil {
		return AppRecord{}, false, err
	}
	c = v.(cachedApp)
	return c.rec, c.found, nil
}

func (r *Registry) fetch(ctx context.Context, id string) (AppRecord, bool, error) {
	var rec AppRecord
	var roles []string
	err := r.db.QueryRow(ctx, `
		SELECT id, secret, roles, departments, channels, rate_per_second, rate_burst
		FROM apps WHERE id = $1 AND NOT disabled`, id).
		Scan(&rec.ID, &rec.Secret, &roles, &rec.Departments, &rec.Channels, &rec.RatePerSecond, &rec.RateBurst)
	if errors.Is(err, pgx.ErrNoRows) {
		return AppRecord{}, false, nil
	}
	if err != nil {
		return AppRecord{}, false, fmt.Errorf("look up app: %w", err)
	}
	for _, role := range roles {
		rec.Roles = append(rec.Roles, Role(role))
	}
	return rec, true, nil
}
