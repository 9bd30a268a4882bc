package catalogtest

import (
	"testing"
	"unicode/utf8"

	"github.com/onewindow/onewindow/shared/catalog"
)

func TestGenerate(t *testing.T) {
	r := Generate(2000, 1)
	if len(r.Items) != 2000 || len(r.Bundles) != 10 || len(r.ScopeEntries) != 40 || len(r.Departments) != 360 {
		t.Fatalf("sizes: %d items, %d bundles, %d scopes, %d departments", len(r.Items), len(r.Bundles), len(r.ScopeEntries), len(r.Departments))
	}
	again := Generate(2000, 1)
	if again.Items[1999].Code != r.Items[1999].Code || again.Bundles[3].Name != r.Bundles[3].Name {
		t.Error("not deterministic")
	}
	codes := map[string]bool{}
	for _, it := range r.Items {
		if codes[it.Code] || !catalog.ValidCode(it.Code) || !utf8.ValidString(it.Name) {
			t.Fatalf("bad item %+v", it)
		}
		codes[it.Code] = true
		if it.LegalDays > 0 && (it.PromisedDays < 1 || it.PromisedDays > it.LegalDays) {
			t.Fatalf("time limits of %+v", it)
		}
	}
	for _, b := range r.Bundles {
		if !utf8.ValidString(b.Name) {
			t.Fatalf("bundle name %q", b.Name)
		}
	}
	s := catalog.NewSnapshot(1, r)
	b, ok := s.ExpandBundle(r.Bundles[0].Code)
	if !ok || len(b.MissingItems) != 0 || len(b.Materials) == 0 {
		t.Errorf("bundle = %+v", b)
	}
}
