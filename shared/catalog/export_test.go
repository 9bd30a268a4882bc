package catalog

// ResetSearchCache empties s's caches of ranked searches, so that
// benchmarks measure the ranking itself.
func ResetSearchCache(s *Snapshot) {
	s.itemCache.reset()
	s.bundleCache.reset()
	s.scopeCache.reset()
}

// ApplyItems returns s with items changed, as a replica's refresh would
// build it.
func ApplyItems(s *Snapshot, items ...Item) *Snapshot {
	d := &delta{revision: s.Revision + 1}
	for i := range items {
		d.items = append(d.items, &items[i])
	}
	return apply(s, d, s.LoadedAt)
}
