package catalog

import (
	"cmp"
	"slices"
	"strings"

	"github.com/onewindow/onewindow/shared/search"
)

// textIndex is the search index of one kind of record. A base index covers
// the records as of its build; an overlay covers the records changed since
// (the overlay is rebuilt on each refresh and stays small) and shadows
// their older versions in the base. A refresh after a few writes thus
// indexes a few records, not the whole catalogue; when the overlay grows
// past overlayMax the next refresh rebuilds the base.
type textIndex[T any] struct {
	base, over part[T]
	// shadowed[i] is true when base document i has a newer version in
	// the overlay.
	shadowed []bool
	// overCodes are the codes the overlay indexes.
	overCodes map[string]bool
}

// part is one search index with its documents, in code order.
type part[T any] struct {
	ix   *search.Index
	docs []T
	// published[i] is docs[i]'s status == published: filters read this
	// compact array rather than chase 100k pointers.
	published []bool
}

// indexer describes a record kind to a textIndex.
type indexer[T any] struct {
	weights []int
	code    func(T) string
	status  func(T) Status
	// fields returns a record's field values, one list per weight.
	fields func(T) [][]string
}

// overlayMax is the most records an overlay holds before the base is
// rebuilt: 2000, or 5% of the base when larger.
func overlayMax(base int) int { return max(2000, base/20) }

func buildPart[T any](in indexer[T], docs []T) part[T] {
	b := search.NewBuilder(in.weights...)
	p := part[T]{docs: docs, published: make([]bool, len(docs))}
	for i, d := range docs {
		b.Add(in.fields(d)...)
		p.published[i] = in.status(d) == StatusPublished
	}
	p.ix = b.Build()
	return p
}

// fullIndex indexes docs (sorted by code) as a base without overlay.
func fullIndex[T any](in indexer[T], docs []T) *textIndex[T] {
	return &textIndex[T]{base: buildPart(in, docs), shadowed: make([]bool, len(docs))}
}

// withChanges returns the index with the records of codes re-indexed from
// current (sorted by code; every code present in it): prev's overlay codes
// and codes go into a new overlay. It returns nil when the overlay would
// exceed overlayMax: rebuild instead.
func (prev *textIndex[T]) withChanges(in indexer[T], codes []string, current []T) *textIndex[T] {
	over := make(map[string]bool, len(prev.overCodes)+len(codes))
	for c := range prev.overCodes {
		over[c] = true
	}
	for _, c := range codes {
		over[c] = true
	}
	if len(over) > overlayMax(len(prev.base.docs)) {
		return nil
	}
	var docs []T
	for c := range over {
		if i, ok := slices.BinarySearchFunc(current, c, func(x T, c string) int { return strings.Compare(in.code(x), c) }); ok {
			docs = append(docs, current[i])
		}
	}
	slices.SortFunc(docs, func(a, b T) int { return strings.Compare(in.code(a), in.code(b)) })
	t := &textIndex[T]{base: prev.base, over: buildPart(in, docs), overCodes: over,
		shadowed: make([]bool, len(prev.base.docs))}
	for c := range over {
		if i, ok := slices.BinarySearchFunc(prev.base.docs, c, func(x T, c string) int { return strings.Compare(in.code(x), c) }); ok {
			t.shadowed[i] = true
		}
	}
	return t
}

// hit is a ranked record.
type hit[T any] struct {
	rec   T
	score int64
}

// search returns the best n records for parsed that keep and after (nil:
// all) accept, by score descending and code ascending.
func (t *textIndex[T]) search(in indexer[T], parsed search.Query, keep func(T, bool) bool,
	after func(score int64, rec T) bool, n int) []hit[T] {
	run := func(p part[T], shadowed []bool) []hit[T] {
		if p.ix == nil {
			return nil
		}
		opts := search.Options{Limit: n,
			Keep: func(doc int32) bool {
				return (shadowed == nil || !shadowed[doc]) && keep(p.docs[doc], p.published[doc])
			}}
		if after != nil {
			opts.After = func(h search.Hit) bool { return after(h.Score, p.docs[h.Doc]) }
		}
		hits := p.ix.Search(parsed, opts)
		out := make([]hit[T], len(hits))
		for i, h := range hits {
			out[i] = hit[T]{rec: p.docs[h.Doc], score: h.Score}
		}
		return out
	}
	a := run(t.base, t.shadowed)
	if len(t.over.docs) == 0 {
		return a
	}
	b := run(t.over, nil)
	// Merge two lists ranked alike; base and overlay never share a code.
	out := make([]hit[T], 0, min(n, len(a)+len(b)))
	for len(out) < n && (len(a) > 0 || len(b) > 0) {
		if len(b) == 0 || len(a) > 0 && rankBefore(in, a[0], b[0]) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}

func rankBefore[T any](in indexer[T], x, y hit[T]) bool {
	if x.score != y.score {
		return x.score > y.score
	}
	return cmp.Less(in.code(x.rec), in.code(y.rec))
}

// terms is the number of distinct terms of both parts.
func (t *textIndex[T]) terms() int {
	if t == nil {
		return 0
	}
	return t.base.ix.Terms() + t.over.ix.Terms()
}
