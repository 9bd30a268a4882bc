package catalog

import (
	"encoding/json"
	"testing"

	"github.com/onewindow/onewindow/shared/idcheck"
	"github.com/onewindow/onewindow/shared/problem"
)

// FuzzCheckUSCC: the uscc parameter never panics, and is accepted exactly
// when GB 32100 accepts it, else a 400 invalid_uscc.
func FuzzCheckUSCC(f *testing.F) {
	for _, s := range []string{"91130100MA0CXK1L28", "91130100MA0CXK1L29", "", "9113010", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckUSCC(s)
		if (err == nil) != (s != "" && idcheck.USCC(s) == nil) {
			t.Fatalf("CheckUSCC(%q) = %v", s, err)
		}
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Status != 400 {
				t.Fatalf("CheckUSCC(%q) = %v", s, err)
			}
		}
	})
}

// FuzzItemInput: any JSON body either fails to decode (400 upstream) or
// validates to nil or a 422, never panics.
func FuzzItemInput(f *testing.F) {
	f.Add("A1", goodItem)
	f.Add("a b", `{"materials":[{"code":"x","contentTypes":[]}],"formSchema":{"type":["x"]}}`)
	f.Add("A1", `{"formSchema":{"properties":{"a":{"items":{"items":{}}}}}}`)
	f.Fuzz(func(t *testing.T, code, body string) {
		var in ItemInput
		if json.Unmarshal([]byte(body), &in) != nil {
			return
		}
		_, err := in.Validate(code)
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Status != 422 {
				t.Fatalf("Validate = %v", err)
			}
		}
	})
}

// FuzzSearchItems: any query and cursor give a page or a 400, never a
// panic.
func FuzzSearchItems(f *testing.F) {
	s := fixtureSnapshot()
	f.Add("食品", "")
	f.Add("HB-SCJG", position{ranked: true, score: 5, code: "HB"}.encode())
	f.Add("", position{code: "HB"}.encode())
	f.Fuzz(func(t *testing.T, q, cursor string) {
		_, err := s.SearchItems(ItemQuery{Q: q}, Page{Limit: 2, Cursor: cursor})
		if err != nil {
			if p, ok := problem.As(err); !ok || p.Status != 400 {
				t.Fatalf("SearchItems(%q, %q) = %v", q, cursor, err)
			}
		}
	})
}
