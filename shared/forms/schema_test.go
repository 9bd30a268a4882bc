package forms

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCompile(t *testing.T) {
	// Every remote reference points at this server, which must never be
	// asked for anything.
	var fetched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		fmt.Fprint(w, `{"type":"string"}`)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "address.json")
	if err := os.WriteFile(file, []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	// chain returns $defs d0..dn where each refers twice to the next: a few
	// hundred bytes that expand to 2^n subschemas.
	chain := func(n int) string {
		var defs []string
		for i := range n {
			defs = append(defs, fmt.Sprintf(`"d%d":{"allOf":[{"$ref":"#/$defs/d%d"},{"$ref":"#/$defs/d%d"}]}`, i, i+1, i+1))
		}
		defs = append(defs, fmt.Sprintf(`"d%d":{"type":"string"}`, n))
		return `{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`
	}

	tests := []struct {
		name    string
		schema  string
		wantErr string // "" when the schema compiles
	}{
		{"homestay form", homestaySchema, ""},
		{"empty object", `{}`, ""},
		{"ref into $defs", `{"properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"string"}}}`, ""},
		{"ref by JSON pointer", `{"properties":{"a":{"type":"string"},"b":{"$ref":"#/properties/a"}}}`, ""},
		{"ref by anchor", `{"properties":{"a":{"$ref":"#addr"}},"$defs":{"a":{"$anchor":"addr","type":"object"}}}`, ""},
		{"shared definition used often", chain(7), ""},
		{"draft-07", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"a":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/a"}}}`, ""},
		{"draft 2019-09", `{"$schema":"https://json-schema.org/draft/2019-09/schema","properties":{"a":{"type":"string"}}}`, ""},
		{"unknown format is an annotation", `{"properties":{"a":{"format":"gb-11643"}}}`, ""},

		{"remote ref", `{"properties":{"a":{"$ref":"` + srv.URL + `/a.json"}}}`, "reference to " + srv.URL + "/a.json refused"},
		{"remote ref with pointer", `{"$ref":"` + srv.URL + `/s.json#/$defs/x"}`, "refused"},
		{"remote meta-schema", `{"$schema":"` + srv.URL + `/meta"}`, "refused"},
		{"relative ref against a remote id", `{"$id":"` + srv.URL + `/forms/a.json","properties":{"a":{"$ref":"b.json"}}}`, "reference to " + srv.URL + "/forms/b.json refused"},
		{"file ref", `{"$ref":"file://` + filepath.ToSlash(file) + `"}`, "refused"},
		{"relative ref", `{"$ref":"address.json"}`, "address.json refused"},
		{"ref to a missing definition", `{"$ref":"#/$defs/none"}`, "none"},
		{"recursive ref", `{"$defs":{"node":{"properties":{"children":{"items":{"$ref":"#/$defs/node"}}}}},"$ref":"#/$defs/node"}`, "recursive reference at /$defs/node"},
		{"ref to itself", `{"properties":{"a":{"$ref":"#"}}}`, "recursive reference"},
		{"dynamic ref", `{"$dynamicAnchor":"n","properties":{"a":{"$dynamicRef":"#n"}}}`, "$dynamicRef"},
		{"standard meta-schema as a ref", `{"$ref":"https://json-schema.org/draft/2020-12/schema"}`, "$dynamicRef"},
		{"exponential expansion", chain(12), "too complex"},

		{"not JSON", `{"type":`, "not valid JSON"},
		{"trailing data", `{} {}`, "not valid JSON"},
		{"not an object", `[{"type":"object"}]`, "a JSON Schema is an object"},
		{"boolean schema", `true`, "a JSON Schema is an object"},
		{"empty", ``, "not valid JSON"},
		{"unknown type", `{"properties":{"a":{"type":"text"}}}`, `at "/properties/a/type"`},
		{"keyword of the wrong type", `{"properties":{"a":{"minimum":"1"}}}`, `at "/properties/a/minimum"`},
		{"bad regexp", `{"properties":{"a":{"pattern":"(["}}}`, `at "/properties/a/pattern"`},
		{"huge number", `{"properties":{"a":{"maximum":1e999999}}}`, `at "/properties/a/maximum": number out of range`},
		{"long number", `{"enum":[` + strings.Repeat("1", 101) + `]}`, "number out of range"},
		{"too deep", strings.Repeat(`{"not":`, 130) + `{}` + strings.Repeat("}", 130), "nested more than"},
		{"too big", `{"description":"` + strings.Repeat("x", 64<<10) + `"}`, "at most 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(json.RawMessage(tt.schema))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Compile: %v", err)
			case tt.wantErr == "" && s == nil:
				t.Fatal("Compile = nil, nil")
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Compile = nil error, want %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("Compile = %v, want it to contain %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Errorf("Compile error spans lines: %q", err)
			}
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the schema server was asked %d times", n)
	}
}
