package catalog

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestExpandBundleMergesMaterials(t *testing.T) {
	s := fixtureSnapshot()
	b, ok := s.ExpandBundle("SJZ-YJS-MINSU")
	if !ok {
		t.Fatal("no bundle")
	}
	if len(b.Items) != 3 || b.Items[0].Code != "SJZ-GA-TZHY-001" || b.LeadDepartmentName != "石家庄市行政审批局" {
		t.Fatalf("expanded = %+v", b)
	}
	want := []MergedMaterial{
		{Code: "M-YYZZ", Name: "营业执照", Required: true, MaxBytes: 2 << 20, ContentTypes: []string{"image/jpeg"},
			Items:      []string{"SJZ-GA-TZHY-001", "SJZ-XZSP-GGWS-001", "HB-SCJG-SPJY-001"},
			RequiredBy: []string{"SJZ-GA-TZHY-001", "SJZ-XZSP-GGWS-001", "HB-SCJG-SPJY-001"}},
		{Code: "M-SFZ", Name: "法定代表人身份证明", Required: true, MaxBytes: 2 << 20,
			ContentTypes: []string{"application/pdf", "image/jpeg", "image/png"},
			Items:        []string{"SJZ-GA-TZHY-001", "HB-SCJG-SPJY-001"}, RequiredBy: []string{"SJZ-GA-TZHY-001", "HB-SCJG-SPJY-001"}},
		{Code: "M-PMT", Name: "旅馆平面图", Required: true, MaxBytes: 5 << 20, ContentTypes: []string{"application/pdf"},
			Items: []string{"SJZ-GA-TZHY-001", "HB-SCJG-SPJY-001"}, RequiredBy: []string{"SJZ-GA-TZHY-001"}},
		{Code: "M-JKZM", Name: "从业人员健康证明", Required: true, MaxBytes: 5 << 20, ContentTypes: []string{"application/pdf"},
			Items: []string{"SJZ-XZSP-GGWS-001"}, RequiredBy: []string{"SJZ-XZSP-GGWS-001"}},
		{Code: "M-SPAQ", Name: "食品安全承诺书", Required: false, MaxBytes: 2 << 20, ContentTypes: []string{"application/pdf"},
			Items: []string{"SJZ-XZSP-GGWS-001"}, RequiredBy: []string{}},
	}
	got, _ := json.Marshal(b.Materials)
	w, _ := json.Marshal(want)
	if string(got) != string(w) {
		t.Errorf("materials\n got %s\nwant %s", got, w)
	}
	// Merging does not change the snapshot's items.
	it, _ := s.Item("SJZ-GA-TZHY-001")
	if !slices.Equal(it.Materials[0].ContentTypes, []string{"application/pdf", "image/jpeg"}) {
		t.Errorf("item changed by merging: %+v", it.Materials[0])
	}
	if _, ok := s.ExpandBundle("nope"); ok {
		t.Error("found an unknown bundle")
	}
}

func TestMergeMaterialsEmpty(t *testing.T) {
	if got := MergeMaterials(nil); got == nil || len(got) != 0 {
		t.Errorf("MergeMaterials(nil) = %#v, want empty", got)
	}
}
