package forms

import "github.com/santhosh-tekuri/jsonschema/v6"

// maxWork bounds one validation, in units of about one subschema
// evaluation: at worst some 150 ms of CPU (measured with a thousand
// alternatives failing on each of a hundred items). A form of a few
// hundred fields spends a few thousand; only a form that repeats an array
// item thousands of times, or a schema that applies hundreds of
// subschemas to each item, comes near it.
const maxWork = 100_000

// workMeter estimates, before validating, what validating a form will
// cost: it walks the (subschema, value) pairs the validator can evaluate,
// following the same applicators, and stops as soon as the estimate passes
// the budget. It over-estimates (both then and else, every alternative of
// anyOf) but never under-estimates, so a form it lets through validates
// within the bound whatever its size, and the walk itself costs far less
// than the validation it bounds.
type workMeter struct {
	left int
}

func (m *workMeter) spend(s *jsonschema.Schema, v any) bool {
	if s == nil {
		return true
	}
	m.left -= evaluationCost(v)
	if m.left < 0 {
		return false
	}
	inPlace := []*jsonschema.Schema{s.Ref, s.Not, s.If, s.Then, s.Else}
	inPlace = append(inPlace, s.AllOf...)
	inPlace = append(inPlace, s.AnyOf...)
	inPlace = append(inPlace, s.OneOf...)
	for _, sub := range inPlace {
		if !m.spend(sub, v) {
			return false
		}
	}
	switch v := v.(type) {
	case map[string]any:
		return m.spendObject(s, v)
	case []any:
		return m.spendArray(s, v)
	}
	return true
}

func (m *workMeter) spendObject(s *jsonschema.Schema, obj map[string]any) bool {
	for name, dep := range s.DependentSchemas {
		if _, ok := obj[name]; ok && !m.spend(dep, obj) {
			return false
		}
	}
	for name, dep := range s.Dependencies {
		if dep, ok := dep.(*jsonschema.Schema); ok {
			if _, ok := obj[name]; ok && !m.spend(dep, obj) {
				return false
			}
		}
	}
	for name, x := range obj {
		matched := false
		if p := s.Properties[name]; p != nil {
			matched = true
			if !m.spend(p, x) {
				return false
			}
		}
		for re, p := range s.PatternProperties {
			if re.MatchString(name) {
				matched = true
				if !m.spend(p, x) {
					return false
				}
			}
		}
		if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok && !matched && !m.spend(a, x) {
			return false
		}
		if !m.spend(s.UnevaluatedProperties, x) || !m.spend(s.PropertyNames, name) {
			return false
		}
	}
	return true
}

func (m *workMeter) spendArray(s *jsonschema.Schema, arr []any) bool {
	for i, x := range arr {
		var item *jsonschema.Schema
		switch {
		case i < len(s.PrefixItems):
			item = s.PrefixItems[i]
		case s.Items2020 != nil:
			item = s.Items2020
		}
		switch items := s.Items.(type) {
		case *jsonschema.Schema:
			item = items
		case []*jsonschema.Schema:
			if i < len(items) {
				item = items[i]
			} else if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
				item = a
			}
		}
		if !m.spend(item, x) || !m.spend(s.Contains, x) || !m.spend(s.UnevaluatedItems, x) {
			return false
		}
	}
	return true
}

// evaluationCost is what evaluating one subschema against v costs: the
// validator visits every entry of an object for each subschema applied to
// it, and scans strings for pattern, format and length.
func evaluationCost(v any) int {
	switch v := v.(type) {
	case map[string]any:
		return 1 + len(v)/16
	case []any:
		return 1 + len(v)/16
	case string:
		return 1 + len(v)/256
	}
	return 1
}
