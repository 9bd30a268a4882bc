package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/problem"
)

// fieldCodes returns "field:code" of each problem of a 422, nil for nil.
func fieldCodes(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	p, ok := problem.As(err)
	if !ok || p.Status != 422 || p.Code != "validation_failed" {
		t.Fatalf("error %v is not a 422 validation_failed", err)
	}
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field+":"+e.Code)
	}
	slices.Sort(out)
	return out
}

func decodeStrict[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

const goodItem = `{"name":"食品经营许可","kind":"行政许可","department":{"code":"130000-SCJG","name":"ignored"},
	"region":"130100","legalDays":20,"promisedDays":10,"fee":{"required":false,"amountFen":0},
	"materials":[{"code":"M-YYZZ","name":"营业执照","required":true,"maxBytes":5242880,"contentTypes":["application/pdf"],"licenseType":"LT-YYZZ"}]}`

func TestItemValidate(t *testing.T) {
	tests := []struct {
		name string
		code string
		body string
		want []string
	}{
		{"good", "HB-SCJG-SPJY-001", goodItem, nil},
		{"department as a string", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":1,"promisedDays":1}`, nil},
		{"immediate with zero days", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":0,"promisedDays":0,"immediate":true}`, nil},
		{"body code matches", "A1", `{"code":"A1","name":"n","kind":"k","department":"D1","region":"130100","legalDays":1,"promisedDays":1}`, nil},
		{"read-only fields accepted", "A1", `{"code":"A1","name":"n","kind":"k","department":"D1","region":"130100","legalDays":1,"promisedDays":1,"version":7,"updatedAt":"2026-01-01T00:00:00+08:00","status":"abolished","formSchema":null}`, nil},
		{"everything missing", "A1", `{}`, []string{
			"department:required", "kind:required", "legalDays:required", "name:required",
			"promisedDays:required", "region:required"}},
		{"code mismatch", "A1", `{"code":"A2","name":"n","kind":"k","department":"D1","region":"130100","legalDays":1,"promisedDays":1}`,
			[]string{"code:code_mismatch"}},
		{"bad path code", "a b", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":1,"promisedDays":1}`,
			[]string{"code:invalid_code"}},
		{"bad values", "A1", `{"name":"   ","kind":"k","department":"bad code!","region":"990000","legalDays":-1,"promisedDays":1001,
			"acceptDays":0,"status":"deleted","fee":{"required":true,"amountFen":-5}}`, []string{
			"acceptDays:out_of_range", "department:invalid_code", "fee.amountFen:out_of_range", "legalDays:out_of_range",
			"name:required", "promisedDays:out_of_range", "region:invalid_region", "status:invalid_status"}},
		{"promised over legal", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":6}`,
			[]string{"promisedDays:out_of_range"}},
		{"zero promised days, not immediate", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":0}`,
			[]string{"promisedDays:out_of_range"}},
		{"free item with an amount", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":1,"fee":{"amountFen":100}}`,
			[]string{"fee.amountFen:invalid"}},
		{"name too long", "A1", `{"name":"` + strings.Repeat("长", 201) + `","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":1}`,
			[]string{"name:too_long"}},
		{"materials", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":1,"materials":[
			{"code":"M1","name":"a","maxBytes":0,"contentTypes":["application/pdf","text/html","APPLICATION/PDF"]},
			{"code":"M1","name":"","contentTypes":[],"licenseType":"bad code"},
			{"name":"c","maxBytes":104857601}]}`, []string{
			"materials.0.contentTypes.1:unsupported_content_type", "materials.0.contentTypes.2:duplicate",
			"materials.0.maxBytes:out_of_range", "materials.1.code:duplicate", "materials.1.contentTypes:required",
			"materials.1.licenseType:invalid_code", "materials.1.name:required", "materials.2.code:required",
			"materials.2.maxBytes:out_of_range"}},
		{"form schema not an object", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":1,"formSchema":[1]}`,
			[]string{"formSchema:invalid_form_schema"}},
		{"form schema bad type", "A1", `{"name":"n","kind":"k","department":"D1","region":"130100","legalDays":5,"promisedDays":1,"formSchema":{"properties":{"a":{"type":"text"}}}}`,
			[]string{"formSchema:invalid_form_schema"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeStrict[ItemInput](t, tt.body)
			_, err := in.Validate(tt.code)
			if got := fieldCodes(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

func TestItemValidateDefaults(t *testing.T) {
	in := decodeStrict[ItemInput](t, `{"name":" 事项 ","kind":"行政许可","department":"D1","region":"130100","legalDays":5,"promisedDays":1,
		"materials":[{"code":"M1","name":"材料"}],"formSchema":{"type":"object","required":["b"],"properties":{"b":{"type":"string"},"a":true}}}`)
	it, err := in.Validate("A1")
	if err != nil {
		t.Fatal(err)
	}
	if it.Name != "事项" || it.AcceptDays != DefaultAcceptDays || it.Status != StatusPublished || it.Fee != (Fee{}) {
		t.Errorf("defaults: %+v", it)
	}
	m := it.Materials[0]
	if m.MaxBytes != DefaultMaxBytes || !slices.Equal(m.ContentTypes, ContentTypes) || m.Required {
		t.Errorf("material defaults: %+v", m)
	}
	if string(it.FormSchema) != `{"properties":{"a":true,"b":{"type":"string"}},"required":["b"],"type":"object"}` {
		t.Errorf("schema not canonical: %s", it.FormSchema)
	}
}

func TestOtherValidations(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // 24 bytes
	tests := []struct {
		name     string
		validate func() error
		want     []string
	}{
		{"bundle good", func() error {
			_, err := BundleInput{Name: "民宿一件事", LeadDepartment: "D1", Items: []string{"A", "B"}, PromisedDays: ptr(10)}.Validate("B1")
			return err
		}, nil},
		{"bundle bad", func() error {
			_, err := BundleInput{Code: ptr("B2"), Items: []string{"A", "A", "bad code"}, PromisedDays: ptr(0), Status: "x"}.Validate("B1")
			return err
		}, []string{"code:code_mismatch", "items.1:duplicate", "items.2:invalid_code", "leadDepartment:required",
			"name:required", "promisedDays:out_of_range", "status:invalid_status"}},
		{"bundle empty", func() error {
			_, err := BundleInput{Name: "n", LeadDepartment: "D1"}.Validate("B1")
			return err
		}, []string{"items:required", "promisedDays:required"}},
		{"scope good", func() error {
			_, err := ScopeEntryInput{Name: "食品销售", Domain: "食品", Expressions: []Expression{{"A", "雪花梨"}}}.Validate("SC-1")
			return err
		}, nil},
		{"scope bad", func() error {
			_, err := ScopeEntryInput{Expressions: []Expression{{"A", ""}, {"A", "x"}, {"", "y"}}}.Validate("SC-1")
			return err
		}, []string{"domain:required", "expressions.0.text:required", "expressions.1.id:duplicate",
			"expressions.2.id:required", "name:required"}},
		{"too many items", func() error {
			items := make([]string, MaxListed+1)
			for i := range items {
				items[i] = fmt.Sprintf("I%d", i)
			}
			_, err := BundleInput{Name: "n", LeadDepartment: "D1", PromisedDays: ptr(1), Items: items}.Validate("B1")
			return err
		}, []string{"items:too_many"}},
		{"scope without expressions", func() error {
			_, err := ScopeEntryInput{Name: "n", Domain: "d"}.Validate("SC-1")
			return err
		}, []string{"expressions:required"}},
		{"license type", func() error {
			_, err := LicenseTypeInput{Name: "营业执照"}.Validate("LT-1")
			return err
		}, []string{"department:required"}},
		{"department good", func() error {
			_, err := DepartmentInput{Name: "公安局", Region: "130100", WebhookURL: "https://ga.example.gov.cn/hooks", WebhookSecret: &secret}.Validate("D1")
			return err
		}, nil},
		{"department bad", func() error {
			bad := "whsec_!!!"
			_, err := DepartmentInput{Region: "13", WebhookURL: "ftp://x", WebhookSecret: &bad}.Validate("D1")
			return err
		}, []string{"name:required", "region:invalid_region", "webhookSecret:invalid_secret", "webhookUrl:invalid_url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fieldCodes(t, tt.validate()); !slices.Equal(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWebhookSecret(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true},                 // 24 bytes
		{"whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==", true}, // padded
		{"whsec_c2VjcmV0", false},                                        // 6 bytes
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},                      // no prefix
		{"whsec_" + strings.Repeat("QUFB", 22), false},                   // 66 bytes
		{"whsec_not base64 at all!!!!!!!!!!", false},
		{"", false},
	} {
		err := CheckWebhookSecret(tt.s)
		if (err == nil) != tt.ok {
			t.Errorf("CheckWebhookSecret(%q) = %v, want ok=%v", tt.s, err, tt.ok)
		}
		if err != nil && len(tt.s) > 10 && strings.Contains(err.Error(), tt.s[6:]) {
			t.Errorf("error repeats the secret: %v", err)
		}
	}
	for _, u := range []string{"http://x", "https://a.b/c?d=1"} {
		if err := checkWebhookURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"x", "/relative", "https://user:pw@a.b/", "https://a.b/#f", "mailto:a@b", "https://" + strings.Repeat("a", 2000)} {
		if checkWebhookURL(u) == nil {
			t.Errorf("%s accepted", u)
		}
	}
}

func TestSelectionValidate(t *testing.T) {
	s := fixtureSnapshot()
	tests := []struct {
		name string
		body string
		want []string
	}{
		{"good", `{"entries":[{"code":"SC-1301","expressionIds":["A","B"]},{"code":"SC-6110","expressionIds":["B"]}]}`, nil},
		{"clear", `{"entries":[]}`, nil},
		{"missing entries", `{}`, []string{"entries:required"}},
		{"problems", `{"uscc":"X","entries":[{"code":"SC-1301","expressionIds":["A","A","Z"]},{"code":"SC-NONE","expressionIds":["A"]},
			{"code":"SC-OLD","expressionIds":["A"]},{"code":"SC-1301","expressionIds":[]},{"expressionIds":["A"]}]}`, []string{
			"entries.0.expressionIds.1:duplicate", "entries.0.expressionIds.2:unknown_expression", "entries.1.code:unknown_scope_entry",
			"entries.2.code:scope_entry_abolished", "entries.3.code:duplicate", "entries.3.expressionIds:required",
			"entries.4.code:required", "uscc:code_mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decodeStrict[SelectionInput](t, tt.body)
			_, err := in.Validate(s, "91130100MA0CXK1L28")
			if got := fieldCodes(t, err); !slices.Equal(got, tt.want) {
				t.Errorf("problems %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckUSCC(t *testing.T) {
	for _, tt := range []struct {
		s  string
		ok bool
	}{
		{"91130100MA0CXK1L28", true},
		{"91130100MA0CXK1L29", false}, // check character
		{"91130100MA0CXK1L2", false},
		{"", false},
		{"91130100ma0cxk1l28", false},
	} {
		err := CheckUSCC(tt.s)
		if tt.ok != (err == nil) {
			t.Errorf("CheckUSCC(%q) = %v", tt.s, err)
		}
		if p, ok := problem.As(err); err != nil && (!ok || p.Status != 400 || p.Code != "invalid_uscc") {
			t.Errorf("CheckUSCC(%q) = %v, want 400 invalid_uscc", tt.s, err)
		}
	}
}

func TestParseMonth(t *testing.T) {
	now := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC) // 2026-12-01 01:00 in Shanghai
	got, err := ParseMonth("", now)
	if err != nil || got.Format(time.RFC3339) != "2026-12-01T00:00:00+08:00" {
		t.Errorf("current month = %v, %v", got, err)
	}
	got, err = ParseMonth("2026-11", now)
	if err != nil || got.Format(time.RFC3339) != "2026-11-01T00:00:00+08:00" {
		t.Errorf("2026-11 = %v, %v", got, err)
	}
	for _, bad := range []string{"2026-13", "2026-1", "2026/11", "26-11", "1999-01", "2026-11-01", "x"} {
		_, err := ParseMonth(bad, now)
		if p, ok := problem.As(err); !ok || p.Status != 400 || p.Code != "invalid_month" {
			t.Errorf("ParseMonth(%q) = %v", bad, err)
		}
	}
}

func TestChangedFields(t *testing.T) {
	a := []byte(`{"name":"a","materials":[1],"version":1,"updatedAt":"x","status":"published"}`)
	b := []byte(`{"name":"b","materials":[1],"version":2,"updatedAt":"y","status":"published"}`)
	if got := changedFields(a, b); !slices.Equal(got, []string{"name"}) {
		t.Errorf("changed = %q", got)
	}
	if got := changedFields(nil, b); !slices.Equal(got, []string{"materials", "name", "status"}) {
		t.Errorf("changed from nothing = %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
