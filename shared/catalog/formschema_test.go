package catalog

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCanonicalSchema: a form schema is stored canonical, and refused at
// PUT when case-submit could not use it.
func TestCanonicalSchema(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    string // canonical form; "" with wantErr
		wantErr string
	}{
		{"absent", ``, "", ""},
		{"null", `null`, "", ""},
		{"canonical", `{ "type":"object", "required":["b"], "properties":{"b":{"type":"string"},"a":true} }`,
			`{"properties":{"a":true,"b":{"type":"string"}},"required":["b"],"type":"object"}`, ""},
		{"ref into $defs", `{"properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"string","pattern":"^[0-9]{6}$"}}}`,
			`{"$defs":{"a":{"pattern":"^[0-9]{6}$","type":"string"}},"properties":{"a":{"$ref":"#/$defs/a"}}}`, ""},

		// catalog's own checks, with their messages
		{"not an object", `[1]`, "", "a JSON Schema is an object"},
		{"unknown type", `{"properties":{"a":{"type":"text"}}}`, "", `properties.a.type: unknown type "text"`},
		{"not JSON", `{"type":`, "", "not valid JSON"},

		// what only compiling finds
		{"remote ref", `{"properties":{"a":{"$ref":"https://example.com/a.json"}}}`, "", "https://example.com/a.json refused"},
		{"remote meta-schema", `{"$schema":"https://example.com/meta"}`, "", "refused"},
		{"bad pattern", `{"properties":{"a":{"type":"string","pattern":"(["}}}`, "", "/properties/a/pattern"},
		{"keyword of the wrong type", `{"properties":{"a":{"minLength":"2"}}}`, "", "/properties/a/minLength"},
		{"recursive ref", `{"$defs":{"n":{"properties":{"c":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, "", "recursive reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := canonicalSchema(json.RawMessage(tt.raw))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("canonicalSchema: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("canonicalSchema = %s, want an error with %q", got, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("canonicalSchema error %q, want it to contain %q", err, tt.wantErr)
			case string(got) != tt.want:
				t.Errorf("canonicalSchema = %s, want %s", got, tt.want)
			}
		})
	}
}
