package catalog

import (
	"sync"
)

// cacheEntries bounds a snapshot's cache of ranked searches.
const cacheEntries = 1024

// cacheDepth is how many ranked hits a cache entry keeps: enough for the
// largest page and the hit after it.
const cacheDepth = MaxLimit + 1

// resultCache keeps the best cacheDepth hits of recent ranked searches of
// one snapshot, so that a popular query costs one ranking per snapshot
// rather than one per request. A new snapshot starts with an empty cache,
// so nothing stale is ever served. Safe for concurrent use.
type resultCache[T any] struct {
	mu      sync.Mutex
	entries map[cacheKey]cachedHits[T]
}

// cacheKey is a search: the normalised query phrase (terms joined by
// spaces) and the filters.
type cacheKey struct {
	terms                   string
	status                  StatusFilter
	filter1, filter2, kind3 string
}

type cachedHits[T any] struct {
	hits []hit[T]
	// complete is true when hits holds every hit, not only the best.
	complete bool
}

func (c *resultCache[T]) get(k cacheKey) (cachedHits[T], bool) {
	if c == nil {
		return cachedHits[T]{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.entries[k]
	return h, ok
}

func (c *resultCache[T]) put(k cacheKey, h cachedHits[T]) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[cacheKey]cachedHits[T]{}
	}
	if len(c.entries) >= cacheEntries {
		for old := range c.entries { // map order: a random victim
			delete(c.entries, old)
			break
		}
	}
	c.entries[k] = h
}

func (c *resultCache[T]) reset() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
