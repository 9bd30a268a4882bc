package forms

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/onewindow/onewindow/shared/problem"
)

// homestaySchema is the form of a homestay licence application (民宿), the
// shape a catalogue administrator writes: titles in Chinese, shared
// definitions under $defs.
const homestaySchema = `{
  "type": "object",
  "title": "民宿申请表",
  "required": ["shopName", "rooms", "address", "owners", "openDate"],
  "additionalProperties": false,
  "properties": {
    "shopName": {"type": "string", "title": "民宿名称", "minLength": 2, "maxLength": 20},
    "rooms": {"type": "integer", "title": "客房数", "minimum": 1, "maximum": 14},
    "area": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 800, "multipleOf": 0.01},
    "category": {"enum": ["乡村民宿", "城镇民宿"]},
    "phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
    "openDate": {"type": "string", "format": "date"},
    "email": {"type": "string", "format": "email"},
    "agree": {"const": true},
    "address": {"$ref": "#/$defs/address"},
    "owners": {"type": "array", "minItems": 1, "maxItems": 3, "uniqueItems": true,
      "items": {"$ref": "#/$defs/person"}},
    "fireCheck": {"type": "boolean"},
    "fireCertNo": {"type": "string", "title": "消防检查意见书编号"}
  },
  "dependentRequired": {"fireCheck": ["fireCertNo"]},
  "$defs": {
    "address": {"type": "object", "required": ["street"], "properties": {
      "region": {"type": "string", "pattern": "^[0-9]{6}$"},
      "street": {"type": "string", "title": "街道", "minLength": 1}}},
    "person": {"type": "object", "required": ["name", "idNumber"], "properties": {
      "name": {"type": "string", "title": "姓名"},
      "idNumber": {"type": "string"}}}
  }
}`

// homestayForm returns a valid form with the given top-level properties
// replaced (a nil value removes the property).
func homestayForm(t testing.TB, changes map[string]any) string {
	t.Helper()
	form := map[string]any{
		"shopName": "山居小院",
		"rooms":    6,
		"area":     120.5,
		"category": "乡村民宿",
		"phone":    "13800138000",
		"openDate": "2026-05-01",
		"address":  map[string]any{"region": "130100", "street": "中山路1号"},
		"owners":   []any{map[string]any{"name": "张三", "idNumber": "130102199001011234"}},
		"agree":    true,
	}
	for k, v := range changes {
		if v == nil {
			delete(form, k)
		} else {
			form[k] = v
		}
	}
	b, err := json.Marshal(form)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// raw is a JSON literal inside homestayForm's changes, kept verbatim.
type raw string

func (r raw) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// fields renders errors as "field code" lines, the part tests pin down.
func fields(errs []problem.FieldError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Field + " " + e.Code
	}
	return out
}

func TestValidate(t *testing.T) {
	s, err := Compile(json.RawMessage(homestaySchema))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	form := func(changes map[string]any) string { return homestayForm(t, changes) }
	tests := []struct {
		name string
		form string
		want []string
	}{
		{"valid", form(nil), nil},
		{"valid, optional fields absent", form(map[string]any{"area": nil, "category": nil, "phone": nil, "agree": nil}), nil},
		{"valid, dependency met", form(map[string]any{"fireCheck": true, "fireCertNo": "冀公消验字〔2026〕第0001号"}), nil},
		{"valid, integer written as 6.0", form(map[string]any{"rooms": raw("6.0")}), nil},
		{"valid, big exact decimal", form(map[string]any{"area": raw("12.340000000000000000000000001")}), []string{"form.area multiple_of"}},

		{"absent", "", []string{"form required"}},
		{"null", " null ", []string{"form required"}},
		{"array", `[{"rooms":1}]`, []string{"form type"}},
		{"string", `"山居小院"`, []string{"form type"}},
		{"number", `3`, []string{"form type"}},
		{"not JSON", `{"rooms":`, []string{"form form_invalid"}},
		{"two values", `{} {}`, []string{"form form_invalid"}},

		{"empty object", `{}`, []string{"form.address required", "form.openDate required", "form.owners required", "form.rooms required", "form.shopName required"}},
		{"type", form(map[string]any{"rooms": "6"}), []string{"form.rooms type"}},
		{"integer", form(map[string]any{"rooms": 6.5}), []string{"form.rooms type"}},
		{"minimum", form(map[string]any{"rooms": 0}), []string{"form.rooms minimum"}},
		{"maximum", form(map[string]any{"rooms": 15}), []string{"form.rooms maximum"}},
		{"exclusive minimum", form(map[string]any{"area": 0}), []string{"form.area exclusive_minimum"}},
		{"exclusive maximum", form(map[string]any{"area": 800}), []string{"form.area exclusive_maximum"}},
		{"multiple of", form(map[string]any{"area": 1.001}), []string{"form.area multiple_of"}},
		{"enum", form(map[string]any{"category": "酒店"}), []string{"form.category enum"}},
		{"const", form(map[string]any{"agree": false}), []string{"form.agree const"}},
		{"pattern", form(map[string]any{"phone": "12345"}), []string{"form.phone pattern"}},
		{"format date", form(map[string]any{"openDate": "2026-13-01"}), []string{"form.openDate format"}},
		{"format email", form(map[string]any{"email": "not-an-email"}), []string{"form.email format"}},
		{"min length counts characters", form(map[string]any{"shopName": "山"}), []string{"form.shopName min_length"}},
		{"max length counts characters", form(map[string]any{"shopName": strings.Repeat("山", 21)}), []string{"form.shopName max_length"}},
		{"additional property", form(map[string]any{"extra": 1, "其他": "x"}), []string{"form.extra additional_properties", "form.其他 additional_properties"}},
		{"dependent required", form(map[string]any{"fireCheck": true}), []string{"form.fireCertNo dependent_required"}},

		{"nested required", form(map[string]any{"address": map[string]any{"region": "130100"}}), []string{"form.address.street required"}},
		{"nested pattern", form(map[string]any{"address": map[string]any{"region": "13010", "street": "x"}}), []string{"form.address.region pattern"}},
		{"nested type", form(map[string]any{"address": "中山路"}), []string{"form.address type"}},
		{"array index", form(map[string]any{"owners": []any{
			map[string]any{"name": "张三", "idNumber": "1"},
			map[string]any{"idNumber": "2"},
			map[string]any{"name": 3, "idNumber": "3"},
		}}), []string{"form.owners.1.name required", "form.owners.2.name type"}},
		{"min items", form(map[string]any{"owners": []any{}}), []string{"form.owners min_items"}},
		{"max items", form(map[string]any{"owners": []any{
			map[string]any{"name": "a", "idNumber": "1"}, map[string]any{"name": "b", "idNumber": "2"},
			map[string]any{"name": "c", "idNumber": "3"}, map[string]any{"name": "d", "idNumber": "4"},
		}}), []string{"form.owners max_items"}},
		{"unique items", form(map[string]any{"owners": []any{
			map[string]any{"name": "a", "idNumber": "1"}, map[string]any{"name": "a", "idNumber": "1"},
		}}), []string{"form.owners unique_items"}},

		{"every problem at once", form(map[string]any{
			"shopName": nil,
			"rooms":    0,
			"phone":    "110",
			"address":  map[string]any{},
			"owners":   []any{map[string]any{"name": "张三"}},
			"extra":    true,
		}), []string{
			"form.address.street required",
			"form.extra additional_properties",
			"form.owners.0.idNumber required",
			"form.phone pattern",
			"form.rooms minimum",
			"form.shopName required",
		}},

		{"number with a huge exponent", form(map[string]any{"rooms": raw("1e999999"), "area": raw("-2E+401")}),
			[]string{"form.area form_invalid", "form.rooms form_invalid"}},
		{"number with too many digits", form(map[string]any{"address": map[string]any{"street": raw(strings.Repeat("9", 101))}}),
			[]string{"form.address.street form_invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := s.Validate(json.RawMessage(tt.form))
			if got := fields(errs); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, e := range errs {
				if e.Message == "" {
					t.Errorf("%s %s: no message", e.Field, e.Code)
				}
			}
		})
	}
}

// TestValidateMessages: messages read as sentences and use the schema's
// titles, so that a portal can show them as they are.
func TestValidateMessages(t *testing.T) {
	s, err := Compile(json.RawMessage(homestaySchema))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	tests := []struct {
		changes map[string]any
		want    problem.FieldError
	}{
		{map[string]any{"rooms": 0}, problem.FieldError{Field: "form.rooms", Code: "minimum", Message: "客房数 must be at least 1"}},
		{map[string]any{"shopName": nil}, problem.FieldError{Field: "form.shopName", Code: "required", Message: `民宿名称 "shopName" is required`}},
		{map[string]any{"address": map[string]any{}}, problem.FieldError{Field: "form.address.street", Code: "required", Message: `街道 "street" is required`}},
		{map[string]any{"owners": []any{map[string]any{"name": "张三"}}}, problem.FieldError{Field: "form.owners.0.idNumber", Code: "required", Message: `"idNumber" is required`}},
		{map[string]any{"fireCheck": true}, problem.FieldError{Field: "form.fireCertNo", Code: "dependent_required", Message: `消防检查意见书编号 "fireCertNo" is required when "fireCheck" is present`}},
		{map[string]any{"category": "酒店"}, problem.FieldError{Field: "form.category", Code: "enum", Message: `must be one of "乡村民宿", "城镇民宿"`}},
		{map[string]any{"rooms": "6"}, problem.FieldError{Field: "form.rooms", Code: "type", Message: "客房数 must be an integer"}},
		{map[string]any{"area": 1.001}, problem.FieldError{Field: "form.area", Code: "multiple_of", Message: "must be a multiple of 0.01"}},
		{map[string]any{"openDate": "明天"}, problem.FieldError{Field: "form.openDate", Code: "format", Message: "must be a valid date"}},
		{map[string]any{"extra": 1}, problem.FieldError{Field: "form.extra", Code: "additional_properties", Message: `"extra" is not a property of this form`}},
	}
	for _, tt := range tests {
		errs := s.Validate(json.RawMessage(homestayForm(t, tt.changes)))
		if len(errs) != 1 || errs[0] != tt.want {
			t.Errorf("Validate(%v) = %+v, want [%+v]", tt.changes, errs, tt.want)
		}
	}
}

// TestValidateKeywords covers the keywords the homestay form does not use.
func TestValidateKeywords(t *testing.T) {
	tests := []struct {
		name, schema, form string
		want               []string
	}{
		{"any of", `{"properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}`, `{"id":true}`, []string{"form.id any_of"}},
		{"any of met", `{"properties":{"id":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}`, `{"id":3}`, nil},
		{"one of, none", `{"properties":{"n":{"oneOf":[{"minimum":10},{"maximum":0}]}}}`, `{"n":5}`, []string{"form.n one_of"}},
		{"one of, several", `{"properties":{"n":{"oneOf":[{"minimum":0},{"maximum":10}]}}}`, `{"n":5}`, []string{"form.n one_of"}},
		{"not", `{"properties":{"name":{"not":{"const":"admin"}}}}`, `{"name":"admin"}`, []string{"form.name not"}},
		{"if then", `{"if":{"properties":{"kind":{"const":"org"}}},"then":{"required":["uscc"]},"else":{"required":["idNumber"]}}`, `{"kind":"org"}`, []string{"form.uscc required"}},
		{"if else", `{"if":{"properties":{"kind":{"const":"org"}}},"then":{"required":["uscc"]},"else":{"required":["idNumber"]}}`, `{"kind":"person"}`, []string{"form.idNumber required"}},
		{"all of", `{"allOf":[{"required":["a"]},{"required":["b"]}]}`, `{}`, []string{"form.a required", "form.b required"}},
		{"false schema", `{"properties":{"legacy":false}}`, `{"legacy":1}`, []string{"form.legacy not_allowed"}},
		{"property names", `{"propertyNames":{"pattern":"^[a-z]+$"}}`, `{"ok":1,"Bad":2}`, []string{"form.Bad property_names"}},
		{"min properties", `{"minProperties":1}`, `{}`, []string{"form min_properties"}},
		{"max properties", `{"maxProperties":1}`, `{"a":1,"b":2}`, []string{"form max_properties"}},
		{"contains", `{"properties":{"l":{"contains":{"const":"营业执照"}}}}`, `{"l":["身份证"]}`, []string{"form.l contains"}},
		{"min contains", `{"properties":{"l":{"contains":{"type":"string"},"minContains":2}}}`, `{"l":["a",1]}`, []string{"form.l min_contains"}},
		{"max contains", `{"properties":{"l":{"contains":{"type":"string"},"maxContains":1}}}`, `{"l":["a","b"]}`, []string{"form.l max_contains"}},
		{"prefix items", `{"properties":{"p":{"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}}}`, `{"p":["a","b",3]}`, []string{"form.p.1 type", "form.p.2 not_allowed"}},
		{"anchor ref", `{"$defs":{"p":{"$anchor":"phone","type":"string","pattern":"^1[0-9]{10}$"}},"properties":{"tel":{"$ref":"#phone"}}}`, `{"tel":"123"}`, []string{"form.tel pattern"}},
		{"ref with own id", `{"$id":"https://onewindow.example/forms/a.json","properties":{"a":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"string"}}}`, `{"a":1}`, []string{"form.a type"}},
		{"unevaluated properties", `{"allOf":[{"properties":{"a":true}}],"unevaluatedProperties":false}`, `{"a":1,"b":2}`, []string{"form.b not_allowed"}},
		{"draft-07 items list", `{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"p":{"items":[{"type":"string"}],"additionalItems":false}}}`, `{"p":["a",1]}`, []string{"form.p additional_items"}},
		{"draft-07 dependencies", `{"$schema":"http://json-schema.org/draft-07/schema#","dependencies":{"a":["b"]}}`, `{"a":1}`, []string{"form.b dependent_required"}},
		{"array indexes sort as numbers", `{"properties":{"l":{"items":{"type":"string"}}}}`, `{"l":[1,"a","b","c","d","e","f","g","h","i",2]}`, []string{"form.l.0 type", "form.l.10 type"}},
		{"property name with a dot", `{"required":["a.b"]}`, `{}`, []string{"form.a.b required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			errs := s.Validate(json.RawMessage(tt.form))
			if got := fields(errs); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestValidateNoSchema: an item without a form schema accepts any form.
func TestValidateNoSchema(t *testing.T) {
	var s *Schema
	for _, form := range []string{"", "null", "{}", `{"a":1}`, "[]"} {
		if errs := s.Validate(json.RawMessage(form)); errs != nil {
			t.Errorf("nil schema Validate(%q) = %v", form, errs)
		}
	}
}

// TestValidateBudget: a form that would make validation costly is refused
// whole, before the validator runs, whichever applicator would spend the
// work, and the same schema still checks forms of a sensible size.
func TestValidateBudget(t *testing.T) {
	heavyItem := `{"allOf":[` + strings.TrimSuffix(strings.Repeat(`{"minimum":0},`, 100), ",") + `]}`
	long := `{"l":[` + strings.TrimSuffix(strings.Repeat("1,", 5000), ",") + `]}`
	var wide strings.Builder
	wide.WriteString(`{"l":[]`)
	for i := range 5000 {
		fmt.Fprintf(&wide, `,"p%d":1`, i)
	}
	wide.WriteString("}")
	small := `{"l":[` + strings.TrimSuffix(strings.Repeat("1,", 50), ",") + `],"p1":1}`
	tests := []struct {
		name, schema, heavyForm string
	}{
		{"items", `{"properties":{"l":{"items":` + heavyItem + `}}}`, long},
		{"prefix items then items", `{"properties":{"l":{"prefixItems":[true],"items":` + heavyItem + `}}}`, long},
		{"draft-07 items", `{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"l":{"items":` + heavyItem + `}}}`, long},
		{"draft-07 additional items", `{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"l":{"items":[true],"additionalItems":` + heavyItem + `}}}`, long},
		{"contains", `{"properties":{"l":{"contains":` + heavyItem + `}}}`, long},
		{"unevaluated items", `{"properties":{"l":{"unevaluatedItems":` + heavyItem + `}}}`, long},
		{"additional properties", `{"properties":{"l":true},"additionalProperties":` + heavyItem + `}`, wide.String()},
		{"pattern properties", `{"patternProperties":{"^p":` + heavyItem + `}}`, wide.String()},
		{"unevaluated properties", `{"properties":{"l":true},"unevaluatedProperties":` + heavyItem + `}`, wide.String()},
		{"wide object, many subschemas", `{"allOf":[` + strings.TrimSuffix(strings.Repeat(`{"properties":{"l":true}},`, 500), ",") + `]}`, wide.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			if errs := s.Validate(json.RawMessage(small)); errs != nil {
				t.Errorf("small form: %v", errs)
			}
			got := fields(s.Validate(json.RawMessage(tt.heavyForm)))
			if len(got) != 1 || got[0] != "form form_too_large" {
				t.Errorf("heavy form: %v, want [form form_too_large]", got)
			}
		})
	}
}

func TestComparePaths(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"form.a", "form.a", 0},
		{"form.a", "form.b", -1},
		{"form.l.2", "form.l.10", -1},
		{"form.l.10.name", "form.l.9.name", 1},
		{"form", "form.a", -1},
		{"form.a.b", "form.a", 1},
	}
	for _, tt := range tests {
		if got := comparePaths(tt.a, tt.b); got != tt.want {
			t.Errorf("comparePaths(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
