package forms

import (
	"bytes"
	"container/list"
	"encoding/json"
	"sync"
)

// defaultCacheSize fits the form schemas of every busy item of a
// provincial catalogue; an entry holds one compiled schema, tens of
// kilobytes at most.
const defaultCacheSize = 256

// Cache keeps the most recently used compiled schemas, because case-submit
// validates many forms against few schemas. It is safe for concurrent use.
type Cache struct {
	size int

	mu      sync.Mutex
	entries map[string]*list.Element
	recent  list.List // of *cacheEntry, most recently used first
}

type cacheEntry struct {
	key    string
	raw    []byte // the schema compiled, to notice a key reused for other bytes
	schema *Schema
	err    error
}

// NewCache returns a cache of at most size schemas; size <= 0 means 256.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = defaultCacheSize
	}
	return &Cache{size: size, entries: map[string]*list.Element{}}
}

// Schema returns raw compiled, from the cache when it was compiled before
// under key. key names the schema, such as an item's code and version
// ("SJZ-GA-0001@3"); raw is compared with the bytes cached under it, so a
// key reused for another schema (a catalogue rebuilt from scratch) costs a
// compile, never a wrong answer. An absent schema (empty or null) gives
// nil, which accepts every form.
//
// Compile errors are cached too: a stored schema that does not compile
// fails the same way every time. Such an error is the catalogue's fault,
// not the applicant's.
func (c *Cache) Schema(key string, raw json.RawMessage) (*Schema, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if e := c.lookup(key, raw); e != nil {
		return e.schema, e.err
	}
	// Compile outside the lock: two first requests for one schema may both
	// compile it, which is cheaper than making every other schema wait.
	s, err := Compile(raw)
	e := &cacheEntry{key: key, raw: bytes.Clone(raw), schema: s, err: err}

	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.recent.Remove(el)
	}
	c.entries[key] = c.recent.PushFront(e)
	if c.recent.Len() > c.size {
		oldest := c.recent.Back()
		c.recent.Remove(oldest)
		delete(c.entries, oldest.Value.(*cacheEntry).key)
	}
	return s, err
}

// lookup returns the entry cached under key for exactly raw, or nil.
func (c *Cache) lookup(key string, raw []byte) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*cacheEntry)
	if !bytes.Equal(e.raw, raw) {
		return nil
	}
	c.recent.MoveToFront(el)
	return e
}
