// Package forms validates the application form of a case (the form object
// of POST /cases) against the JSON Schema its service item publishes
// (formSchema). It owns compiling a schema offline and with bounded cost,
// and turning validation failures into problem.FieldError entries rooted at
// "form".
package forms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Limits that keep compiling and validating cheap whatever an administrator
// stores or an applicant sends.
const (
	// maxSchemaBytes matches what the catalogue stores.
	maxSchemaBytes = 64 << 10
	// maxSchemaDepth is the JSON nesting of a schema document; the
	// catalogue allows 32 levels of properties/items, two JSON levels each.
	maxSchemaDepth = 128
	// maxSchemaCost caps the count of subschemas with every $ref expanded
	// (a definition counted at each use), so that a small text cannot
	// stand for an exponential one; a generous real form schema counts a
	// few hundred. What validating a form costs is bounded by maxWork.
	maxSchemaCost = 2000
	// maxFormBytes is the body limit of POST /cases; a form is part of it.
	maxFormBytes = 1 << 20
	// maxNumberLen and maxExponent bound number literals: the validator
	// turns every number into a big.Rat, and "1e999999" costs megabytes.
	maxNumberLen = 100
	maxExponent  = 400
)

// schemaURL names the one document a compiler knows. It is hierarchical so
// that a relative $ref resolves to another URL, which the loader refuses,
// and under .invalid so that it names nothing that exists.
const schemaURL = "https://forms.onewindow.invalid/schema.json"

// Schema is a compiled form schema, safe for concurrent use. A nil *Schema
// stands for an item without a form schema and accepts every form.
type Schema struct {
	root *jsonschema.Schema
	// byLocation indexes every subschema by its absolute location, which
	// validation errors carry, so that messages can use titles.
	byLocation map[string]*jsonschema.Schema
}

// Compile compiles an item's formSchema: a JSON Schema object, draft
// 2020-12 unless its $schema names another draft. References may only
// point inside the schema ($defs, anchors, JSON pointers) or at the
// standard meta-schemas, which are built in: a schema never makes the
// server fetch a URL or read a file. format is asserted ("format": "date"
// refuses "tomorrow"). Recursive references, $dynamicRef and $recursiveRef
// are refused because they make validation work depend on the form's
// depth, and a form needs none of them.
func Compile(raw json.RawMessage) (*Schema, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > maxSchemaBytes {
		return nil, fmt.Errorf("form schema: %d bytes, at most %d", len(raw), maxSchemaBytes)
	}
	doc, err := decodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("form schema: not valid JSON: %w", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("form schema: a JSON Schema is an object")
	}
	if err := checkSchemaDoc(doc, "", 0); err != nil {
		return nil, fmt.Errorf("form schema: %w", err)
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(offlineLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("form schema: add resource: %w", err)
	}
	root, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("form schema: %w", compileError(err))
	}
	s := &Schema{root: root, byLocation: map[string]*jsonschema.Schema{}}
	m := measurer{schema: s, cost: map[*jsonschema.Schema]int{}}
	cost, err := m.measure(root)
	if err != nil {
		return nil, fmt.Errorf("form schema: %w", err)
	}
	if cost > maxSchemaCost {
		return nil, fmt.Errorf("form schema: too complex: more than %d subschemas with every $ref expanded", maxSchemaCost)
	}
	return s, nil
}

// offlineLoader refuses every URL the built-in meta-schemas do not cover,
// so that a $ref or $schema can neither fetch a URL nor read a file.
type offlineLoader struct{}

func (offlineLoader) Load(url string) (any, error) {
	return nil, errors.New("only references inside the schema are allowed")
}

// compileError shortens the compiler's errors, which the catalogue shows an
// administrator, to one line naming the cause.
func compileError(err error) error {
	var load *jsonschema.LoadURLError
	if errors.As(err, &load) {
		return fmt.Errorf("reference to %s refused: only references inside the schema are allowed", load.URL)
	}
	var invalid *jsonschema.SchemaValidationError
	if errors.As(err, &invalid) {
		var verr *jsonschema.ValidationError
		if errors.As(invalid.Err, &verr) {
			if leaf := firstLeaf(verr); leaf != nil {
				return fmt.Errorf("not a valid JSON Schema: at %q: %v", "/"+strings.Join(leaf.InstanceLocation, "/"), leaf.ErrorKind.LocalizedString(printer))
			}
		}
		return fmt.Errorf("not a valid JSON Schema: %w", invalid.Err)
	}
	return err
}

// firstLeaf is the first error without causes, depth first: the most
// specific reason a meta-schema refused a schema.
func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return e
	}
	return firstLeaf(e.Causes[0])
}

// decodeJSON decodes exactly one JSON value, keeping numbers exact as the
// validator expects.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("data after the top-level value")
	}
	return v, nil
}

// checkSchemaDoc bounds the schema document before the compiler sees it:
// nesting and number literals (the compiler parses numbers into big.Rat).
func checkSchemaDoc(v any, at string, depth int) error {
	if depth > maxSchemaDepth {
		return fmt.Errorf("nested more than %d levels", maxSchemaDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if err := checkSchemaDoc(x, at+"/"+k, depth+1); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range v {
			if err := checkSchemaDoc(x, at+"/"+strconv.Itoa(i), depth+1); err != nil {
				return err
			}
		}
	case json.Number:
		if !numberInRange(v) {
			return fmt.Errorf("at %q: number out of range", at)
		}
	}
	return nil
}

// numberInRange reports whether a JSON number literal is short and its
// exponent small, which bounds what big.Rat spends on it.
func numberInRange(n json.Number) bool {
	s := string(n)
	if len(s) > maxNumberLen {
		return false
	}
	i := strings.IndexAny(s, "eE")
	if i < 0 {
		return true
	}
	exp, err := strconv.Atoi(s[i+1:])
	return err == nil && exp >= -maxExponent && exp <= maxExponent
}

// measurer computes, for each subschema, how many subschemas validating a
// value against it can evaluate: itself plus all it applies, $refs
// expanded. Sharing through $ref is counted once per use, which is what
// the validator does, so a chain of schemas each referring twice to the
// next is caught however small its text.
type measurer struct {
	schema *Schema
	cost   map[*jsonschema.Schema]int // 0 while on the walk's stack
}

func (m *measurer) measure(s *jsonschema.Schema) (int, error) {
	if s == nil {
		return 0, nil
	}
	if c, seen := m.cost[s]; seen {
		if c == 0 {
			return 0, fmt.Errorf("recursive reference at %s", shortLocation(s.Location))
		}
		return c, nil
	}
	if s.DynamicRef != nil || s.RecursiveRef != nil {
		return 0, fmt.Errorf("at %s: $dynamicRef and $recursiveRef are not supported", shortLocation(s.Location))
	}
	m.cost[s] = 0
	m.schema.byLocation[s.Location] = s
	total := 1
	for _, sub := range subschemas(s) {
		c, err := m.measure(sub)
		if err != nil {
			return 0, err
		}
		// Saturate: past the cap the exact figure does not matter, and
		// sums of shared subschemas would otherwise overflow.
		total = min(total+c, maxSchemaCost+1)
	}
	m.cost[s] = total
	return total, nil
}

// subschemas lists every schema s applies, to its value or to parts of it.
func subschemas(s *jsonschema.Schema) []*jsonschema.Schema {
	subs := []*jsonschema.Schema{s.Ref, s.Not, s.If, s.Then, s.Else, s.PropertyNames,
		s.UnevaluatedProperties, s.Contains, s.Items2020, s.UnevaluatedItems, s.ContentSchema}
	subs = append(subs, s.AllOf...)
	subs = append(subs, s.AnyOf...)
	subs = append(subs, s.OneOf...)
	subs = append(subs, s.PrefixItems...)
	for _, p := range s.Properties {
		subs = append(subs, p)
	}
	for _, p := range s.PatternProperties {
		subs = append(subs, p)
	}
	for _, d := range s.DependentSchemas {
		subs = append(subs, d)
	}
	for _, d := range s.Dependencies {
		if d, ok := d.(*jsonschema.Schema); ok {
			subs = append(subs, d)
		}
	}
	if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		subs = append(subs, a)
	}
	if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		subs = append(subs, a)
	}
	switch items := s.Items.(type) {
	case *jsonschema.Schema:
		subs = append(subs, items)
	case []*jsonschema.Schema:
		subs = append(subs, items...)
	}
	return subs
}

// shortLocation drops the document name from a subschema's location,
// leaving the JSON pointer an administrator recognises.
func shortLocation(loc string) string {
	ptr, ok := strings.CutPrefix(loc, schemaURL+"#")
	switch {
	case !ok:
		return loc
	case ptr == "":
		return "the root"
	}
	return ptr
}
