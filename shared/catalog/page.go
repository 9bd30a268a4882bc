package catalog

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/onewindow/onewindow/shared/problem"
)

// Page limits of every list (contract section 0).
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Page asks for one page of a list.
type Page struct {
	// Limit is the most records returned: 1 to MaxLimit, 0 for
	// DefaultLimit.
	Limit int
	// Cursor is the NextCursor of the previous page, "" for the first.
	Cursor string
}

// ParsePage reads limit and cursor from query values; a malformed limit is
// a 400 invalid_limit, a cursor is checked when used (400 invalid_cursor).
func ParsePage(limit, cursor string) (Page, error) {
	p := Page{Cursor: cursor}
	if limit == "" {
		return p, nil
	}
	n, err := strconv.Atoi(limit)
	if err != nil || n < 1 || n > MaxLimit {
		return Page{}, problem.BadRequest("invalid_limit", "limit is 1 to 500")
	}
	p.Limit = n
	return p, nil
}

func (p Page) limit() int {
	if p.Limit <= 0 {
		return DefaultLimit
	}
	return min(p.Limit, MaxLimit)
}

// position is where a page starts: after the record with Code, which in a
// ranked search had Score. Cursors are keysets, so a page boundary stays
// right when the catalogue changes between pages.
type position struct {
	ranked bool
	score  int64
	code   string
}

func (p position) encode() string {
	s := "c" + p.code
	if p.ranked {
		s = "s" + strconv.FormatInt(p.score, 10) + ":" + p.code
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func badCursor() error {
	return problem.BadRequest("invalid_cursor", "cursor is not one this list returned")
}

// decodeCursor parses a cursor; ranked says which kind the list expects.
func decodeCursor(c string, ranked bool) (position, bool, error) {
	if c == "" {
		return position{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 {
		return position{}, false, badCursor()
	}
	s := string(b)
	switch {
	case !ranked && s[0] == 'c':
		return position{code: s[1:]}, true, nil
	case ranked && s[0] == 's':
		num, code, ok := strings.Cut(s[1:], ":")
		score, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || code == "" {
			return position{}, false, badCursor()
		}
		return position{ranked: true, score: score, code: code}, true, nil
	}
	return position{}, false, badCursor()
}
