package catalog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// After any sequence of refreshes, searches on the incrementally indexed
// snapshot answer exactly as on a snapshot built afresh from the same
// records, including across overlay-triggered rebuilds.
func TestIncrementalIndexMatchesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	recs := fixtureRecords()
	names := []string{"食品经营许可", "公共场所卫生许可", "旅馆业特种行业许可证核发", "民宿登记", "排水许可", "消防安全检查"}
	for i := range 3000 {
		recs.Items = append(recs.Items, Item{Code: fmt.Sprintf("G-%05d", i), Name: names[i%len(names)] + fmt.Sprint(i%13),
			Kind: "行政许可", Department: DepartmentRef{Code: "130000-SCJG"}, Region: "130100", Status: StatusPublished, Version: 1,
			Materials: []Material{mat("M-YYZZ", "营业执照", true, 1, "application/pdf")}})
	}
	s := NewSnapshot(1, recs)
	current := map[string]Item{}
	for _, it := range recs.Items {
		current[it.Code] = it
	}
	bundles := map[string]Bundle{}
	for _, b := range recs.Bundles {
		bundles[b.Code] = b
	}
	depts := recs.Departments
	queries := []ItemQuery{{Q: "食品"}, {Q: "许可"}, {Q: "民宿"}, {Q: "新名"}, {Q: "G-00042"}, {Q: "市场监管"}, {Q: "许可", Status: "any"}, {Q: "管理局"}}
	for round := range 40 {
		d := &delta{revision: s.Revision + 1}
		switch {
		case round%10 == 9: // a department rename: a full rebuild
			depts = slices.Clone(depts)
			depts[2].Name = fmt.Sprintf("河北省市场监管局%d", round)
			x := depts[2]
			d.departments = append(d.departments, &x)
		case round%7 == 3: // a bundle gains items
			b := bundles["SJZ-YJS-MINSU"]
			b.Items = append(slices.Clone(b.Items), fmt.Sprintf("G-%05d", rng.IntN(3000)))
			b.Name = fmt.Sprintf("民宿一件事%d", round)
			bundles[b.Code] = b
			d.bundles = append(d.bundles, &b)
		default:
			for range 1 + rng.IntN(400) { // big rounds push the overlay past its limit
				code := fmt.Sprintf("G-%05d", rng.IntN(3200)) // some new
				it := current[code]
				it.Code, it.Version = code, it.Version+1
				it.Name = []string{"新名食品", "新名许可", "普通事项"}[rng.IntN(3)] + fmt.Sprint(round)
				it.Kind, it.Region, it.Status = "行政确认", "130100", StatusPublished
				it.Department = DepartmentRef{Code: "130000-SCJG"}
				if rng.IntN(5) == 0 {
					it.Status = StatusAbolished
				}
				current[code] = it
				d.items = append(d.items, &it)
			}
		}
		s = apply(s, d, t0)

		fresh := Records{Departments: depts, LicenseTypes: recs.LicenseTypes, ScopeEntries: recs.ScopeEntries}
		for _, it := range current {
			fresh.Items = append(fresh.Items, it)
		}
		for _, b := range bundles {
			fresh.Bundles = append(fresh.Bundles, b)
		}
		want := NewSnapshot(s.Revision, fresh)
		for _, q := range queries {
			for _, limit := range []int{7, 500} {
				got, err1 := s.SearchItems(q, Page{Limit: limit})
				exp, err2 := want.SearchItems(q, Page{Limit: limit})
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !slices.Equal(itemCodes(got), itemCodes(exp)) {
					t.Fatalf("round %d %+v limit %d:\n got %q\nwant %q", round, q, limit, itemCodes(got), itemCodes(exp))
				}
				for i := range got.Items {
					if got.Items[i].Name != exp.Items[i].Name || got.Items[i].Department.Name != exp.Items[i].Department.Name {
						t.Fatalf("round %d: record %s differs", round, got.Items[i].Code)
					}
				}
			}
		}
		if len(s.itemList) != len(want.itemList) {
			t.Fatalf("round %d: %d items listed, want %d", round, len(s.itemList), len(want.itemList))
		}
	}
	if s.itemText.over.docs == nil && s.itemText.overCodes == nil {
		t.Log("ended on a full rebuild")
	}
}
