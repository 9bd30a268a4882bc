package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/store"
)

func codes[T any](res Result[T], code func(T) string) []string {
	out := []string{}
	for _, x := range res.Items {
		out = append(out, code(x))
	}
	return out
}

func itemCodes(res Result[*Item]) []string {
	return codes(res, func(it *Item) string { return it.Code })
}

func TestSearchItemsRanking(t *testing.T) {
	s := fixtureSnapshot()
	tests := []struct {
		name string
		q    ItemQuery
		want []string
	}{
		{"two characters: names first, shorter first, then materials", ItemQuery{Q: "食品"},
			[]string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001", "HB-SCJG-SPBA-001", "SJZ-XZSP-GGWS-001"}},
		{"one character", ItemQuery{Q: "馆"}, []string{"SJZ-GA-TZHY-001"}},
		{"one character in a department name only", ItemQuery{Q: "安"},
			// 消防安全 in a name first; 公安局 and 食品安全承诺书 after.
			[]string{"HB-XF-JCHG-001", "SJZ-GA-HZ-001", "SJZ-GA-TZHY-001", "SJZ-XZSP-GGWS-001"}},
		{"department name", ItemQuery{Q: "公安局"}, []string{"SJZ-GA-HZ-001", "SJZ-GA-TZHY-001"}},
		{"kind", ItemQuery{Q: "行政确认"}, []string{"HB-SCJG-XCY-001"}},
		{"material", ItemQuery{Q: "健康证明"}, []string{"SJZ-XZSP-GGWS-001"}},
		{"a bundle's name finds its items", ItemQuery{Q: "民宿"}, []string{"HB-SCJG-SPJY-001", "SJZ-XZSP-GGWS-001", "SJZ-GA-TZHY-001"}},
		{"English word, any case", ItemQuery{Q: "PASSPORT"}, []string{"SJZ-GA-HZ-001"}},
		{"English prefix", ItemQuery{Q: "pass"}, []string{"SJZ-GA-HZ-001"}},
		{"exact code first", ItemQuery{Q: "HB-SCJG-XCY-001"}, []string{"HB-SCJG-XCY-001"}},
		{"code prefix, shorter names first", ItemQuery{Q: "hb-scjg"}, []string{"HB-SCJG-SPJY-001", "HB-SCJG-XCY-001", "HB-SCJG-SPBA-001"}},
		{"full-width", ItemQuery{Q: "ＨＢ－ＸＦ"}, []string{"HB-XF-JCHG-001"}},
		{"two terms", ItemQuery{Q: "食品 登记"}, []string{"HB-SCJG-XCY-001"}},
		{"nothing", ItemQuery{Q: "不存在的事项"}, []string{}},
		{"filter department", ItemQuery{Q: "许可", Department: "130000-SCJG"}, []string{"HB-SCJG-SPJY-001"}},
		{"filter kind", ItemQuery{Kind: "行政确认"}, []string{"HB-SCJG-XCY-001"}},
		{"filter region", ItemQuery{Q: "食品", Region: "130000"}, []string{}},
		{"abolished skipped by default", ItemQuery{Q: "旧事项"}, []string{}},
		{"abolished on request", ItemQuery{Q: "旧事项", Status: "abolished"}, []string{"X-OLD"}},
		{"any status", ItemQuery{Q: "食品经营", Status: "any"}, []string{"HB-SCJG-SPJY-001", "HB-SCJG-SPBA-001"}},
		{"list by code", ItemQuery{Department: "130100-GA"}, []string{"SJZ-GA-HZ-001", "SJZ-GA-TZHY-001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.SearchItems(tt.q, Page{})
			if err != nil {
				t.Fatal(err)
			}
			if got := itemCodes(res); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if res.NextCursor != "" {
				t.Errorf("nextCursor %q on the only page", res.NextCursor)
			}
		})
	}
}

// Paging with any limit yields the same sequence as one page, ranked or not.
func TestSearchItemsPaging(t *testing.T) {
	s := fixtureSnapshot()
	for _, q := range []string{"", "食品", "许可", "安"} {
		all, err := s.SearchItems(ItemQuery{Q: q, Status: "any"}, Page{Limit: MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for limit := 1; limit <= 3; limit++ {
			var got []string
			p := Page{Limit: limit}
			for range 100 {
				res, err := s.SearchItems(ItemQuery{Q: q, Status: "any"}, p)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Items) > limit {
					t.Fatalf("%d items on a page of %d", len(res.Items), limit)
				}
				got = append(got, itemCodes(res)...)
				if res.NextCursor == "" {
					break
				}
				p.Cursor = res.NextCursor
			}
			if !slices.Equal(got, itemCodes(all)) {
				t.Errorf("q=%q limit %d: pages %q, want %q", q, limit, got, itemCodes(all))
			}
		}
	}
}

func TestCursorErrors(t *testing.T) {
	s := fixtureSnapshot()
	listCursor := position{code: "A"}.encode()
	rankCursor := position{ranked: true, score: 1, code: "A"}.encode()
	for _, tt := range []struct{ q, cursor string }{
		{"", "!!!"}, {"", "eA"}, {"食品", listCursor}, {"", rankCursor}, {"食品", position{}.encode()},
		{"食品", "czpB"},
	} {
		_, err := s.SearchItems(ItemQuery{Q: tt.q}, Page{Cursor: tt.cursor})
		if p, ok := problem.As(err); !ok || p.Status != 400 || p.Code != "invalid_cursor" {
			t.Errorf("q=%q cursor=%q: %v, want 400 invalid_cursor", tt.q, tt.cursor, err)
		}
	}
	for _, l := range []string{"0", "501", "x", "-1", "1.5"} {
		if _, err := ParsePage(l, ""); err == nil {
			t.Errorf("limit %s accepted", l)
		}
	}
	if p, err := ParsePage("500", "c"); err != nil || p.Limit != 500 || p.Cursor != "c" {
		t.Errorf("ParsePage(500) = %+v, %v", p, err)
	}
	if _, err := ParseStatusFilter("deleted"); err == nil {
		t.Error("status deleted accepted")
	}
}

func TestSearchBundlesAndScopes(t *testing.T) {
	s := fixtureSnapshot()
	bundle := func(b *Bundle) string { return b.Code }
	scope := func(e *ScopeEntry) string { return e.Code }
	for _, tt := range []struct {
		q    string
		want []string
	}{
		{"民宿", []string{"SJZ-YJS-MINSU"}},
		{"一件事", []string{"SJZ-YJS-MINSU", "SJZ-YJS-CANYIN"}}, // shorter name first
		{"餐饮", []string{"SJZ-YJS-CANYIN"}},
		{"消防", []string{"SJZ-YJS-CANYIN"}},                    // an item's name
		{"行政审批", []string{"SJZ-YJS-MINSU", "SJZ-YJS-CANYIN"}}, // the lead department
		{"", []string{"SJZ-YJS-CANYIN", "SJZ-YJS-MINSU"}},
	} {
		res, err := s.SearchBundles(BundleQuery{Q: tt.q}, Page{})
		if got := codes(res, bundle); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("bundles %q = %q, %v; want %q", tt.q, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		q, domain string
		want      []string
	}{
		{"食品", "", []string{"SC-1301"}},
		{"民宿", "", []string{"SC-6110"}}, // an expression
		{"生物", "", []string{"SC-1040"}}, // the domain
		{"", "食品", []string{"SC-1301"}}, // abolished SC-OLD left out
		{"销售", "生物医药", []string{}},
	} {
		res, err := s.SearchScopes(ScopeQuery{Q: tt.q, Domain: tt.domain}, Page{})
		if got := codes(res, scope); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("scopes %q/%q = %q, %v; want %q", tt.q, tt.domain, got, err, tt.want)
		}
	}
	res, _ := s.LicenseTypes(LicenseTypeQuery{Department: "130100-GA"}, Page{})
	if got := codes(res, func(lt *LicenseType) string { return lt.Code }); !slices.Equal(got, []string{"LT-TZHY"}) {
		t.Errorf("license types of 130100-GA = %q", got)
	}
}

func TestSnapshotLookups(t *testing.T) {
	s := fixtureSnapshot()
	it, ok := s.Item("SJZ-GA-TZHY-001")
	if !ok || it.Department.Name != "石家庄市公安局" {
		t.Fatalf("item = %+v, %v", it, ok)
	}
	d, ok := s.Department("130100-GA")
	if !ok || d.WebhookSecret == "" || !d.WebhookSecretSet {
		t.Fatalf("department = %+v", d)
	}
	b, _ := json.Marshal(d)
	if strings.Contains(string(b), "whsec_") || !strings.Contains(string(b), `"webhookSecretSet":true`) {
		t.Errorf("department JSON %s", b)
	}
	c := Fixed(s)
	if it, ok, err := c.Item(t.Context(), "HB-SCJG-XCY-001"); err != nil || !ok || it.Name != "食品小餐饮登记" {
		t.Errorf("Fixed Item = %+v %v %v", it, ok, err)
	}
	if _, ok, err := c.Bundle(t.Context(), "nope"); err != nil || ok {
		t.Errorf("Fixed Bundle(nope) = %v %v", ok, err)
	}
	if _, err := c.PutItem(t.Context(), "x", "A", ItemInput{}); err == nil {
		t.Error("Fixed PutItem succeeded")
	}
	if counts := s.Counts(); counts.Items != 8 || counts.Bundles != 2 || counts.SearchTerms == 0 {
		t.Errorf("counts = %+v", counts)
	}
}

func TestNoDatabase(t *testing.T) {
	c := Open(nil, Config{})
	_, err := c.Snapshot(t.Context())
	if p, ok := problem.As(err); !ok || p.Status != 503 {
		t.Errorf("Snapshot without a database = %v, want 503", err)
	}
	c.Warm()
	c.Close()
	if _, err := c.Selection(t.Context(), "91130100MA0CXK1L28"); !errors.As(err, new(*problem.Problem)) {
		t.Errorf("Selection without a database = %v", err)
	}

	// A database that cannot be reached: the first read fails with 503 as
	// soon as the first attempt fails, not at the request's deadline.
	pool, err := store.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	down := Open(pool, Config{RetryMin: time.Hour, RetryMax: time.Hour})
	start := time.Now()
	_, _, err = down.Item(t.Context(), "X")
	if p, ok := problem.As(err); !ok || p.Status != 503 || time.Since(start) > 5*time.Second {
		t.Errorf("unreachable database: %v after %v", err, time.Since(start))
	}
	down.Close()
	if _, err := down.Snapshot(t.Context()); err == nil {
		t.Error("a closed catalogue without a snapshot answered")
	}
}

// Pages served from the cache equal pages computed afresh, also past the
// cache's depth.
func TestSearchCache(t *testing.T) {
	recs := fixtureRecords()
	for i := range 1200 {
		recs.Items = append(recs.Items, Item{Code: fmt.Sprintf("GEN-%04d", i), Name: fmt.Sprintf("食品事项%d", i%37),
			Kind: "行政许可", Department: DepartmentRef{Code: "130000-SCJG"}, Region: "130100", Status: StatusPublished, Version: 1})
	}
	cached := NewSnapshot(1, recs)
	walk := func(snap func() *Snapshot, q string, limit int) []string {
		var got []string
		p := Page{Limit: limit}
		for range 2000 {
			res, err := snap().SearchItems(ItemQuery{Q: q}, p)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, itemCodes(res)...)
			if res.NextCursor == "" {
				break
			}
			p.Cursor = res.NextCursor
		}
		return got
	}
	for _, q := range []string{"食品", "GEN-0007", "事项1"} {
		fresh := walk(func() *Snapshot { return NewSnapshot(1, recs) }, q, 500)
		for _, limit := range []int{500, 7, 1} {
			if got := walk(func() *Snapshot { return cached }, q, limit); !slices.Equal(got, fresh) {
				t.Errorf("q=%q limit %d: %d codes from the cache, %d fresh", q, limit, len(got), len(fresh))
			}
		}
		if q == "GEN-0007" && (len(fresh) == 0 || fresh[0] != "GEN-0007") {
			t.Errorf("exact code not first: %q", fresh[:min(3, len(fresh))])
		}
	}
}
