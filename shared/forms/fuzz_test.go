package forms

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/onewindow/onewindow/shared/problem"
)

// FuzzCompileValidate: arbitrary schema and form bytes never panic; a
// schema compiles or is refused with a one-line error, and a form against
// it gives well-formed field errors.
func FuzzCompileValidate(f *testing.F) {
	f.Add(homestaySchema, `{"rooms":0,"owners":[{"name":1}],"address":{}}`)
	f.Add(`{"properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"anyOf":[{"type":"string"},{"minimum":1}]}}}`, `{"a":0}`)
	f.Add(`{"$ref":"http://127.0.0.1:1/x"}`, `{}`)
	f.Add(`{"prefixItems":[{"const":1}],"items":false,"unevaluatedItems":false}`, `[1,2]`)
	f.Add(`{"dependentSchemas":{"a":{"required":["b"]}},"propertyNames":{"maxLength":2}}`, `{"a":1,"abc":2}`)
	f.Add(`{"properties":{"n":{"multipleOf":0.1,"maximum":1e300}}}`, `{"n":1e400}`)
	f.Fuzz(func(t *testing.T, schema, form string) {
		s, err := Compile(json.RawMessage(schema))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("Compile error spans lines: %q", err)
			}
			return
		}
		checkEntries(t, s, form)
	})
}

// FuzzValidate: any form against a real schema gives well-formed, sorted,
// repeatable field errors.
func FuzzValidate(f *testing.F) {
	s, err := Compile(json.RawMessage(homestaySchema))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(homestayForm(f, nil))
	f.Add(`{"rooms":0,"owners":[{"name":1},{}],"address":{},"extra":[1e999]}`)
	f.Add(`{"shopName":"山","area":1.001,"openDate":"2026-02-30","fireCheck":true}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, form string) {
		checkEntries(t, s, form)
	})
}

func checkEntries(t *testing.T, s *Schema, form string) {
	errs := s.Validate(json.RawMessage(form))
	for _, e := range errs {
		if e.Field != "form" && !strings.HasPrefix(e.Field, "form.") || e.Code == "" || e.Message == "" {
			t.Fatalf("malformed entry %+v", e)
		}
	}
	if !slices.IsSortedFunc(errs, func(a, b problem.FieldError) int { return comparePaths(a.Field, b.Field) }) {
		t.Fatalf("entries not sorted: %v", errs)
	}
	if again := s.Validate(json.RawMessage(form)); !slices.Equal(again, errs) {
		t.Fatalf("Validate not repeatable:\n%v\n%v", errs, again)
	}
}
