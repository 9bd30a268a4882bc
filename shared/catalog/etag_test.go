package catalog

import (
	"encoding/json"
	"testing"
)

func TestETag(t *testing.T) {
	s := fixtureSnapshot()
	it, _ := s.Item("SJZ-GA-TZHY-001")
	a, _ := json.Marshal(it)
	b, _ := json.Marshal(NewSnapshot(8, fixtureRecords()).items["SJZ-GA-TZHY-001"])
	if ETag(a) != ETag(b) {
		t.Error("the same record renders to different tags")
	}
	changed := *it
	changed.Version++
	c, _ := json.Marshal(changed)
	if ETag(a) == ETag(c) {
		t.Error("a new version keeps the tag")
	}
	tag := ETag(a)
	if tag[0] != '"' || tag[len(tag)-1] != '"' {
		t.Errorf("tag %s is not quoted", tag)
	}
	for _, tt := range []struct {
		header string
		want   bool
	}{
		{tag, true},
		{"W/" + tag, true},
		{`"other", ` + tag, true},
		{"*", true},
		{`"other"`, false},
		{"", false},
		{tag[1 : len(tag)-1], false},
	} {
		if got := NoneMatch(tt.header, tag); got != tt.want {
			t.Errorf("NoneMatch(%q) = %v", tt.header, got)
		}
	}
}
