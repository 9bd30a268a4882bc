// Package search is the catalogue's in-memory full-text index over short
// Chinese and English texts (item, bundle and scope names, department and
// material names, codes), searched with keywords of one character and up.
//
// Han text (and kana and Hangul) is indexed as unigrams and bigrams, so any
// substring of one or more Han characters finds its documents without a
// dictionary: 民, 民宿 and 宿一件 all find 民宿一件事. Letters and digits are
// indexed as lower-case words and matched by prefix, so "food", "FOOD" and
// "foo" find "Food business license", and an item code finds its item.
// Full-width forms are folded to ASCII first (ＡＢＣ１２ = abc12).
//
// An Index is immutable once built and safe for concurrent use. It imports
// nothing of ours.
package search

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize folds s for indexing and matching: full-width ASCII forms
// (U+FF01-U+FF5E) become ASCII, the ideographic space and every control or
// invalid byte become a space, letters become lower case. Everything else
// is kept, so Chinese text is unchanged. When nothing changes, s itself is
// returned without allocating.
func Normalize(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if folded, _ := fold(r, size); folded != r || r == utf8.RuneError {
			return normalizeFrom(s, i)
		}
		i += size
	}
	return s
}

func normalizeFrom(s string, start int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:start])
	for i := start; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		f, _ := fold(r, size)
		b.WriteRune(f)
		i += size
	}
	return b.String()
}

// fold maps one rune; size is its encoded length (1 with RuneError means
// an invalid byte).
func fold(r rune, size int) (rune, bool) {
	switch {
	case r == utf8.RuneError && size <= 1:
		return ' ', true
	case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
		r -= 0xFEE0
	case r == 0x3000: // ideographic space
		return ' ', true
	case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0):
		return ' ', true
	}
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r, true
	}
	return unicode.ToLower(r), true
}

// isGram reports whether r is indexed by n-grams: scripts written without
// spaces between words.
func isGram(r rune) bool {
	if r < 0x2E80 {
		return false
	}
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// isWord reports whether r belongs to a word: letters and digits of
// space-separated scripts.
func isWord(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || ('A' <= r && r <= 'Z')
	}
	return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isGram(r)
}

// Term is one keyword of a query: a run of n-gram characters (Gram) or a
// word of letters and digits, normalised.
type Term struct {
	Text string
	Gram bool
}

// Query is a parsed search string. The zero Query matches nothing.
type Query struct {
	// Terms must all match, each in any field of a document.
	Terms []Term
	// Phrase is the normalised query with runs of separators collapsed to
	// one space; a primary field equal to or starting with it ranks higher.
	Phrase string
}

// Limits of a query; longer input is cut, never rejected.
const (
	// MaxTerms is the most terms a query keeps.
	MaxTerms = 16
	// MaxTermRunes is the longest term kept, in runes.
	MaxTermRunes = 64
)

// ParseQuery splits q into terms: runs of Han (kana, Hangul) characters and
// words of letters and digits, in order, duplicates removed. Everything
// else (spaces, punctuation, symbols) separates terms.
func ParseQuery(q string) Query {
	q = Normalize(q)
	var out Query
	seen := map[string]bool{}
	add := func(t Term) {
		if len(out.Terms) < MaxTerms && !seen[t.Text] {
			seen[t.Text] = true
			out.Terms = append(out.Terms, t)
		}
	}
	tokens(q, func(text string, gram bool) {
		if utf8.RuneCountInString(text) > MaxTermRunes {
			text = truncateRunes(text, MaxTermRunes)
		}
		add(Term{Text: text, Gram: gram})
	})
	out.Phrase = phrase(q)
	return out
}

// phrase collapses runs of separators in a normalised string to one space.
func phrase(q string) string {
	var b strings.Builder
	space := false
	for _, r := range q {
		if isGram(r) || isWord(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

// tokens calls emit for each maximal run of n-gram characters and each word
// of the normalised text s, in order.
func tokens(s string, emit func(text string, gram bool)) {
	start, kind := -1, 0 // kind: 1 gram run, 2 word
	for i, r := range s {
		k := 0
		switch {
		case isGram(r):
			k = 1
		case isWord(r):
			k = 2
		}
		if k != kind {
			if kind != 0 {
				emit(s[start:i], kind == 1)
			}
			start, kind = i, k
		}
	}
	if kind != 0 {
		emit(s[start:], kind == 1)
	}
}

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
