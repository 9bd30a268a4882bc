package search

import (
	"cmp"
	"math/bits"
	"slices"
	"strings"
	"unicode/utf8"
)

// Builder collects documents for an Index. Each document has the same
// fields, in the order of the weights given to NewBuilder; field 0 is the
// primary field (a name), which also decides the tie-breaks. A Builder is
// not safe for concurrent use.
type Builder struct {
	weights []int64
	vals    []string // normalised values of every field of every document
	starts  []int32  // vals[starts[d*nf+f]:starts[d*nf+f+1]] are field f of document d
	ids     map[string]int32
	lists   [][]int32 // term id -> ascending documents
	last    []int32   // term id -> last document posted, to post each once
	words   []bool    // term id -> a word (not an n-gram)
	terms   []string  // term id -> term
}

// NewBuilder returns a Builder for documents with one field per weight. A
// field's weight is what a match in it adds to a hit's score (see
// Index.Search); give the primary field a weight larger than the sum of the
// others to rank every primary-field match first.
func NewBuilder(weights ...int) *Builder {
	w := make([]int64, len(weights))
	for i, x := range weights {
		w[i] = int64(x)
	}
	return &Builder{weights: w, ids: map[string]int32{}, starts: []int32{0}}
}

// Add indexes one document and returns its id: 0 for the first, then
// ascending. fields holds the values of each field, one list per weight
// (missing lists are empty, extra ones ignored); a query term matches a
// field when it occurs within one of its values, never across two. Values
// equal to their normalised form are kept without a copy, so strings
// shared by many documents are stored once.
func (b *Builder) Add(fields ...[]string) int32 {
	nf := len(b.weights)
	doc := int32((len(b.starts) - 1) / nf)
	for f := range nf {
		if f < len(fields) {
			for _, v := range fields[f] {
				v = Normalize(v)
				b.vals = append(b.vals, v)
				b.index(v, doc)
			}
		}
		b.starts = append(b.starts, int32(len(b.vals)))
	}
	return doc
}

func (b *Builder) index(text string, doc int32) {
	tokens(text, func(tok string, gram bool) {
		if !gram {
			b.post(tok, true, doc)
			return
		}
		prev := -1
		for i := range tok {
			end := i + utf8RuneLen(tok[i:])
			if prev >= 0 {
				b.post(tok[prev:end], false, doc) // bigram
			}
			b.post(tok[i:end], false, doc) // unigram
			prev = i
		}
	})
}

func utf8RuneLen(s string) int {
	_, n := utf8.DecodeRuneInString(s)
	return n
}

func (b *Builder) post(term string, word bool, doc int32) {
	id, ok := b.ids[term]
	if !ok {
		term = strings.Clone(term) // must not pin a larger string
		id = int32(len(b.terms))
		b.ids[term] = id
		b.terms = append(b.terms, term)
		b.lists = append(b.lists, nil)
		b.last = append(b.last, -1)
		b.words = append(b.words, word)
	}
	if b.last[id] == doc {
		return
	}
	b.last[id] = doc
	b.lists[id] = append(b.lists[id], doc)
}

// Build returns the Index of the documents added so far. The Builder must
// not be used afterwards.
func (b *Builder) Build() *Index {
	nf := len(b.weights)
	n := 0
	if nf > 0 {
		n = (len(b.starts) - 1) / nf
	}
	bitmapBytes := (n + 63) / 64 * 8
	sparse := 0
	for _, l := range b.lists {
		if 4*len(l) <= bitmapBytes {
			sparse += len(l)
		}
	}
	arena := make([]int32, 0, sparse) // one allocation for every sparse list
	ix := &Index{weights: b.weights, vals: b.vals, starts: b.starts, n: n,
		postings: make(map[string]posting, len(b.terms))}
	for id, term := range b.terms {
		l := b.lists[id]
		var p posting
		if 4*len(l) > bitmapBytes { // dense: a bitmap is smaller
			p.bits = make([]uint64, (n+63)/64)
			for _, d := range l {
				p.bits[d>>6] |= 1 << (d & 63)
			}
		} else {
			start := len(arena)
			arena = append(arena, l...)
			p.ids = arena[start:len(arena):len(arena)]
		}
		p.count = len(l)
		ix.postings[term] = p
		if b.words[id] {
			ix.words = append(ix.words, term)
		}
	}
	slices.Sort(ix.words)
	*b = Builder{}
	return ix
}

// posting lists the documents holding a term: ids when few, else a bitmap
// over all documents (bit d set for document d), whichever is smaller.
type posting struct {
	ids   []int32
	bits  []uint64
	count int
}

// Index answers queries over a fixed set of documents.
type Index struct {
	weights  []int64
	vals     []string
	starts   []int32
	n        int
	postings map[string]posting
	words    []string // the word terms, sorted, for prefix matching
}

// Len is the number of documents.
func (ix *Index) Len() int {
	if ix == nil {
		return 0
	}
	return ix.n
}

// Terms is the number of distinct terms (unigrams, bigrams and words).
func (ix *Index) Terms() int {
	if ix == nil {
		return 0
	}
	return len(ix.postings)
}

// field returns the values of field f of doc.
func (ix *Index) field(doc int32, f int) []string {
	i := int(doc)*len(ix.weights) + f
	return ix.vals[ix.starts[i]:ix.starts[i+1]]
}

// Hit is one matching document.
type Hit struct {
	Doc int32
	// Score orders hits, higher first: the sum over fields of the field's
	// weight times the share of terms the field contains, plus the primary
	// field's weight when its first value equals the query phrase (half
	// when it starts with it), times 1024, plus 1023 minus that value's
	// length in bytes (at most 1023), so that shorter names win ties.
	Score int64
	// Fields has bit f set when field f contains at least one term.
	Fields uint64
}

// Options narrow a search.
type Options struct {
	// Keep, when set, drops the documents for which it returns false.
	Keep func(doc int32) bool
	// After, when set, drops the hits for which it returns false: the
	// hits up to a page boundary (keyset paging).
	After func(h Hit) bool
	// Limit, when positive, returns only the first Limit hits in order,
	// which costs O(n log Limit) instead of a full sort.
	Limit int
}

// Search returns the documents containing every term of q (each term in
// some field), narrowed by o, ordered by Score descending and then by id
// ascending.
func (ix *Index) Search(q Query, o Options) []Hit {
	if ix == nil || len(q.Terms) == 0 {
		return nil
	}
	var cand docSet
	for i, t := range q.Terms {
		docs := ix.candidates(t)
		if i == 0 {
			cand = docs
		} else {
			cand = cand.and(docs)
		}
		if cand.empty() {
			return nil
		}
	}
	top := topK{limit: o.Limit}
	cand.each(func(doc int32) {
		if o.Keep != nil && !o.Keep(doc) {
			return
		}
		h, ok := ix.score(q, doc)
		if !ok || o.After != nil && !o.After(h) {
			return
		}
		top.add(h)
	})
	return top.sorted()
}

// score rates doc against q; ok is false when some term is in no field
// (a Han run whose bigrams occur apart, or a word found only as another
// word's prefix).
func (ix *Index) score(q Query, doc int32) (Hit, bool) {
	n := int64(len(q.Terms))
	var score int64
	var mask uint64
	for _, t := range q.Terms {
		found := false
		for f := range ix.weights {
			if containsAny(ix.field(doc, f), t.Text) {
				found = true
				mask |= 1 << min(f, 63)
				score += ix.weights[f] * 1024 / n
			}
		}
		if !found {
			return Hit{}, false
		}
	}
	primary := ""
	if v := ix.field(doc, 0); len(v) > 0 {
		primary = v[0]
	}
	switch {
	case primary == q.Phrase:
		score += ix.weights[0] * 1024
	case q.Phrase != "" && strings.HasPrefix(primary, q.Phrase):
		score += ix.weights[0] * 512
	}
	score = score*1024 + 1023 - int64(min(len(primary), 1023))
	return Hit{Doc: doc, Score: score, Fields: mask}, true
}

// Before reports whether a ranks before b: higher score, then lower id.
func Before(a, b Hit) bool {
	return a.Score > b.Score || a.Score == b.Score && a.Doc < b.Doc
}

// topK keeps every hit (limit <= 0) or the best limit of them, the worst
// of those at the root of a heap.
type topK struct {
	limit int
	hits  []Hit
}

func (t *topK) add(h Hit) {
	if t.limit <= 0 || len(t.hits) < t.limit {
		t.hits = append(t.hits, h)
		if t.limit > 0 {
			t.up(len(t.hits) - 1)
		}
		return
	}
	if !Before(h, t.hits[0]) {
		return
	}
	t.hits[0] = h
	t.down(0)
}

// The heap orders by "ranks after": the root is the worst hit kept.
func (t *topK) worse(i, j int) bool { return Before(t.hits[j], t.hits[i]) }

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.worse(i, p) {
			return
		}
		t.hits[i], t.hits[p] = t.hits[p], t.hits[i]
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.hits)
	for {
		l, w := 2*i+1, i
		if l < n && t.worse(l, w) {
			w = l
		}
		if r := l + 1; r < n && t.worse(r, w) {
			w = r
		}
		if w == i {
			return
		}
		t.hits[i], t.hits[w] = t.hits[w], t.hits[i]
		i = w
	}
}

func (t *topK) sorted() []Hit {
	slices.SortFunc(t.hits, func(a, b Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Doc, b.Doc)
	})
	return t.hits
}

func containsAny(vals []string, term string) bool {
	for _, v := range vals {
		if strings.Contains(v, term) {
			return true
		}
	}
	return false
}

// candidates returns the documents that may contain t: for a gram run,
// those holding every bigram (the unigram for one character); for a word,
// those holding a word that starts with it. Search verifies them.
func (ix *Index) candidates(t Term) docSet {
	if t.Gram {
		prev := -1
		var out docSet
		first := true
		for i := range t.Text {
			if prev < 0 {
				prev = i
				continue
			}
			p := ix.postings[t.Text[prev:i+utf8RuneLen(t.Text[i:])]]
			if first {
				out, first = p.set(), false
			} else {
				out = out.and(p.set())
			}
			if out.empty() {
				return docSet{}
			}
			prev = i
		}
		if first { // one character
			return ix.postings[t.Text].set()
		}
		return out
	}
	lo, _ := slices.BinarySearch(ix.words, t.Text)
	hi := lo
	total := 0
	for hi < len(ix.words) && strings.HasPrefix(ix.words[hi], t.Text) {
		total += ix.postings[ix.words[hi]].count
		hi++
	}
	switch {
	case hi == lo:
		return docSet{}
	case hi-lo == 1:
		return ix.postings[ix.words[lo]].set()
	case 4*total > ix.n/8: // many documents: OR into a bitmap
		bm := make([]uint64, (ix.n+63)/64)
		for _, w := range ix.words[lo:hi] {
			p := ix.postings[w]
			for i, x := range p.bits {
				bm[i] |= x
			}
			for _, d := range p.ids {
				bm[d>>6] |= 1 << (d & 63)
			}
		}
		return docSet{bits: bm}
	}
	out := make([]int32, 0, total)
	for _, w := range ix.words[lo:hi] {
		out = append(out, ix.postings[w].ids...)
	}
	slices.Sort(out)
	return docSet{ids: slices.Compact(out)}
}

// docSet is a set of documents: ascending ids, or a bitmap when bits is
// not nil. Sets taken from postings are shared and never modified.
type docSet struct {
	ids  []int32
	bits []uint64
}

func (p posting) set() docSet { return docSet{ids: p.ids, bits: p.bits} }

func (s docSet) empty() bool {
	if s.bits == nil {
		return len(s.ids) == 0
	}
	for _, w := range s.bits {
		if w != 0 {
			return false
		}
	}
	return true
}

func (s docSet) has(d int32) bool {
	if s.bits == nil {
		_, ok := slices.BinarySearch(s.ids, d)
		return ok
	}
	return s.bits[d>>6]&(1<<(d&63)) != 0
}

// and returns the intersection as a new set.
func (s docSet) and(o docSet) docSet {
	switch {
	case s.bits != nil && o.bits != nil:
		out := make([]uint64, len(s.bits))
		for i := range out {
			out[i] = s.bits[i] & o.bits[i]
		}
		return docSet{bits: out}
	case s.bits != nil:
		s, o = o, s
		fallthrough
	case o.bits != nil:
		out := make([]int32, 0, len(s.ids))
		for _, d := range s.ids {
			if o.has(d) {
				out = append(out, d)
			}
		}
		return docSet{ids: out}
	}
	return docSet{ids: intersect(s.ids, o.ids)}
}

// each calls fn for every document in ascending order.
func (s docSet) each(fn func(int32)) {
	if s.bits == nil {
		for _, d := range s.ids {
			fn(d)
		}
		return
	}
	for i, w := range s.bits {
		for w != 0 {
			fn(int32(i*64 + bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}

// intersect returns the ids in both ascending lists, as a new list (a and
// b may be postings, which must not change).
func intersect(a, b []int32) []int32 {
	if len(a) > len(b) {
		a, b = b, a
	}
	out := make([]int32, 0, len(a))
	j := 0
	for _, x := range a {
		// Gallop over b: postings of frequent characters are long.
		if j < len(b) && b[j] < x {
			k, _ := slices.BinarySearch(b[j:], x)
			j += k
		}
		if j < len(b) && b[j] == x {
			out = append(out, x)
			j++
		}
	}
	return out
}
