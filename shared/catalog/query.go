package catalog

import (
	"math"
	"slices"
	"strings"

	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/search"
)

// StatusFilter selects records by status in lists: "" or "published"
// (the default), "abolished", or "any".
type StatusFilter string

// ParseStatusFilter checks a status query parameter (400 invalid_status).
func ParseStatusFilter(s string) (StatusFilter, error) {
	switch s {
	case "", "published", "abolished", "any":
		return StatusFilter(s), nil
	}
	return "", problem.BadRequest("invalid_status", "status is published, abolished or any")
}

func (f StatusFilter) keepsPublished(published bool) bool {
	switch f {
	case "any":
		return true
	case "abolished":
		return !published
	}
	return published
}

// ItemQuery is GET /items: Q is a keyword in Chinese or English (empty
// lists every item by code); the others filter by exact value.
type ItemQuery struct {
	Q          string
	Department string
	Region     string
	Kind       string
	Status     StatusFilter
}

// Result is one page of a list.
type Result[T any] struct {
	Items []T
	// NextCursor is "" on the last page.
	NextCursor string
}

// SearchItems answers GET /items. With Q, items are ranked: an exact item
// code first, then name matches (a name equal to or starting with Q before
// one containing it, shorter names first), then matches in the code,
// department name, kind, material names and the names of bundles holding
// the item; ties by code. Without Q, items are listed by code.
func (s *Snapshot) SearchItems(q ItemQuery, p Page) (Result[*Item], error) {
	fields := q.Department != "" || q.Region != "" || q.Kind != ""
	keep := func(it *Item, published bool) bool {
		if !q.Status.keepsPublished(published) {
			return false
		}
		// The record is read only when a field filter is set.
		return !fields || (q.Department == "" || it.Department.Code == q.Department) &&
			(q.Region == "" || it.Region == q.Region) &&
			(q.Kind == "" || it.Kind == q.Kind)
	}
	key := cacheKey{status: q.Status, filter1: q.Department, filter2: q.Region, kind3: q.Kind}
	return page(s.itemList, s.itemText, s.itemIn, &s.itemCache, key, q.Q, p, keep)
}

// BundleQuery is GET /bundles.
type BundleQuery struct {
	Q      string
	Status StatusFilter
}

// SearchBundles answers GET /bundles, ranked as SearchItems (fields: name,
// code, lead department name, item names).
func (s *Snapshot) SearchBundles(q BundleQuery, p Page) (Result[*Bundle], error) {
	return page(s.bundleList, s.bundleText, s.bundleIn, &s.bundleCache, cacheKey{status: q.Status}, q.Q, p,
		func(_ *Bundle, published bool) bool { return q.Status.keepsPublished(published) })
}

// ScopeQuery is GET /scopes.
type ScopeQuery struct {
	Q      string
	Domain string
	Status StatusFilter
}

// SearchScopes answers GET /scopes, ranked as SearchItems (fields: name,
// code, domain, expression texts).
func (s *Snapshot) SearchScopes(q ScopeQuery, p Page) (Result[*ScopeEntry], error) {
	return page(s.scopeList, s.scopeText, s.scopeIn, &s.scopeCache, cacheKey{status: q.Status, filter1: q.Domain}, q.Q, p,
		func(e *ScopeEntry, published bool) bool {
			return q.Status.keepsPublished(published) && (q.Domain == "" || e.Domain == q.Domain)
		})
}

// LicenseTypeQuery is GET /license-types.
type LicenseTypeQuery struct {
	Department string
	Status     StatusFilter
}

// LicenseTypes answers GET /license-types, by code.
func (s *Snapshot) LicenseTypes(q LicenseTypeQuery, p Page) (Result[*LicenseType], error) {
	in := indexer[*LicenseType]{code: func(lt *LicenseType) string { return lt.Code },
		status: func(lt *LicenseType) Status { return lt.Status }}
	return page(s.licenseList, nil, in, nil, cacheKey{}, "", p,
		func(lt *LicenseType, published bool) bool {
			return q.Status.keepsPublished(published) && (q.Department == "" || lt.Department == q.Department)
		})
}

// page lists the records of list (sorted by code) that keep accepts:
// ranked by text when q has terms, with a record whose code equals q (any
// case) first; else by code. Ranked hits are cached under key (with q's
// terms) in cache.
func page[T any](list []T, text *textIndex[T], in indexer[T], cache *resultCache[T], key cacheKey, q string, p Page, keep func(T, bool) bool) (Result[T], error) {
	limit := p.limit()
	parsed := search.ParseQuery(q)
	ranked := len(parsed.Terms) > 0
	after, hasAfter, err := decodeCursor(p.Cursor, ranked)
	if err != nil {
		return Result[T]{}, err
	}
	out := Result[T]{Items: make([]T, 0, min(limit, 64))}
	if !ranked {
		start := 0
		if hasAfter {
			start = position0(list, in.code, after.code)
			if start < len(list) && in.code(list[start]) == after.code {
				start++
			}
		}
		for i := start; i < len(list); i++ {
			if !keep(list[i], in.status(list[i]) == StatusPublished) {
				continue
			}
			if len(out.Items) == limit {
				// Records between the last one shown and list[i] were
				// filtered out, so list[i-1] bounds the page as well.
				out.NextCursor = position{code: in.code(list[i-1])}.encode()
				return out, nil
			}
			out.Items = append(out.Items, list[i])
		}
		return out, nil
	}

	terms := make([]byte, 0, len(q))
	for _, t := range parsed.Terms {
		terms = append(append(terms, t.Text...), ' ')
	}
	key.terms = string(terms) + "|" + strings.TrimSpace(q) // the exact-code rule reads q itself
	var isAfter func(score int64, rec T) bool
	if hasAfter {
		isAfter = func(score int64, rec T) bool {
			return score < after.score || score == after.score && in.code(rec) > after.code
		}
	}
	hits, ok := rankedFromCache(cache, key, isAfter, limit+1)
	if !ok {
		var all cachedHits[T]
		if hasAfter {
			all.hits = rank(list, text, in, parsed, q, keep, isAfter, limit+1)
		} else {
			all.hits = rank(list, text, in, parsed, q, keep, nil, cacheDepth)
			all.complete = len(all.hits) < cacheDepth
			cache.put(key, all)
		}
		hits = all.hits[:min(len(all.hits), limit+1)]
	}
	for i, h := range hits {
		if i == limit {
			last := hits[i-1]
			out.NextCursor = position{ranked: true, score: last.score, code: in.code(last.rec)}.encode()
			break
		}
		out.Items = append(out.Items, h.rec)
	}
	return out, nil
}

// rankedFromCache returns up to n cached hits after the cursor (isAfter
// nil: from the start), when the cache holds them all.
func rankedFromCache[T any](cache *resultCache[T], key cacheKey, isAfter func(int64, T) bool, n int) ([]hit[T], bool) {
	c, ok := cache.get(key)
	if !ok {
		return nil, false
	}
	start := 0
	for isAfter != nil && start < len(c.hits) && !isAfter(c.hits[start].score, c.hits[start].rec) {
		start++
	}
	if start+n > len(c.hits) && !c.complete {
		return nil, false // the page runs past what the cache holds
	}
	return c.hits[start:min(start+n, len(c.hits))], true
}

// rank returns the best n hits of parsed that keep and after (nil: all)
// accept, a record whose code is q (any case) first with the top score.
func rank[T any](list []T, text *textIndex[T], in indexer[T], parsed search.Query, q string, keep func(T, bool) bool, after func(int64, T) bool, n int) []hit[T] {
	// The exact record is ranked first, so it never appears at its text
	// rank, on this page or any later one.
	exactCode, exactFirst := "", false
	if c := strings.TrimSpace(q); c != "" {
		for _, try := range []string{c, strings.ToUpper(c)} {
			i := position0(list, in.code, try)
			if i < len(list) && in.code(list[i]) == try {
				if rec := list[i]; keep(rec, in.status(rec) == StatusPublished) {
					exactCode = try
					exactFirst = after == nil || after(math.MaxInt64, rec)
				}
				break
			}
		}
	}
	hits := text.search(in, parsed, keep, after, n+1)
	if exactCode != "" {
		hits = slices.DeleteFunc(hits, func(h hit[T]) bool { return in.code(h.rec) == exactCode })
		if exactFirst {
			rec := list[position0(list, in.code, exactCode)]
			hits = append([]hit[T]{{rec: rec, score: math.MaxInt64}}, hits...)
		}
	}
	return hits[:min(len(hits), n)]
}

// position0 is the index of the first record of list whose code is not
// below c.
func position0[T any](list []T, code func(T) string, c string) int {
	i, _ := slices.BinarySearchFunc(list, c, func(x T, c string) int { return strings.Compare(code(x), c) })
	return i
}
