package forms

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/onewindow/onewindow/shared/problem"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Codes of the entries Validate returns. A failed JSON Schema keyword
// gives the keyword in snake_case: required, type, enum, const, pattern,
// format, minimum, maximum, exclusive_minimum, exclusive_maximum,
// multiple_of, min_length, max_length, min_items, max_items, unique_items,
// additional_items, contains, min_contains, max_contains, min_properties,
// max_properties, additional_properties, property_names,
// dependent_required, not, any_of, one_of. A subschema that is false
// gives not_allowed. The form as a whole gives required (absent), type
// (not a JSON object), form_too_large (over 1 MiB, or more than the
// validation budget allows with this schema) or form_invalid (not JSON).
// A number too long or with too large an exponent gives form_invalid at
// its path.
const (
	CodeFormInvalid  = "form_invalid"
	CodeFormTooLarge = "form_too_large"
)

// formField is the root of every field path: the form object of the body.
const formField = "form"

var printer = message.NewPrinter(language.English)

// Validate checks a form and returns one entry per problem, sorted by
// field, or nil when the form is valid. Field is a dotted path rooted at
// "form" (form.address.street, form.owners.0.name); a missing required
// property is reported at its own path. An absent form (empty or null) or
// one that is not a JSON object gives a single entry at "form".
func (s *Schema) Validate(form json.RawMessage) []problem.FieldError {
	if s == nil {
		return nil
	}
	form = bytes.TrimSpace(form)
	if len(form) == 0 || bytes.Equal(form, []byte("null")) {
		return []problem.FieldError{{Field: formField, Code: "required", Message: "the form is required"}}
	}
	if len(form) > maxFormBytes {
		return []problem.FieldError{{Field: formField, Code: CodeFormTooLarge,
			Message: fmt.Sprintf("the form is over %d bytes", maxFormBytes)}}
	}
	v, err := decodeJSON(form)
	if err != nil {
		return []problem.FieldError{{Field: formField, Code: CodeFormInvalid, Message: "the form is not valid JSON"}}
	}
	if _, ok := v.(map[string]any); !ok {
		return []problem.FieldError{{Field: formField, Code: "type", Message: "the form must be a JSON object"}}
	}
	if errs := checkNumbers(v); errs != nil {
		return errs
	}
	if m := (workMeter{left: maxWork}); !m.spend(s.root, v) {
		return []problem.FieldError{{Field: formField, Code: CodeFormTooLarge,
			Message: "the form is too large to check against the item's form schema"}}
	}

	err = s.root.Validate(v)
	if err == nil {
		return nil
	}
	var verr *jsonschema.ValidationError
	if !errors.As(err, &verr) {
		return []problem.FieldError{{Field: formField, Code: CodeFormInvalid, Message: err.Error()}}
	}
	c := collector{schema: s, seen: map[problem.FieldError]bool{}}
	c.collect(verr)
	if len(c.out) == 0 {
		// Never answer "valid" for a form the validator refused.
		c.add(formField, CodeFormInvalid, "the form does not match the item's form schema")
	}
	slices.SortStableFunc(c.out, func(a, b problem.FieldError) int {
		return cmp.Or(comparePaths(a.Field, b.Field), strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
	})
	return c.out
}

// checkNumbers finds number literals out of range: the validator parses
// numbers into big.Rat, and "1e999999" costs megabytes. They are reported
// at their paths and stop validation, since no form field needs them.
func checkNumbers(form any) []problem.FieldError {
	var errs []problem.FieldError
	var walk func(v any, path string)
	walk = func(v any, path string) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(x, path+"."+k)
			}
		case []any:
			for i, x := range v {
				walk(x, path+"."+strconv.Itoa(i))
			}
		case json.Number:
			if !numberInRange(v) {
				errs = append(errs, problem.FieldError{Field: path, Code: CodeFormInvalid,
					Message: "the number is out of range"})
			}
		}
	}
	walk(form, formField)
	slices.SortFunc(errs, func(a, b problem.FieldError) int { return comparePaths(a.Field, b.Field) })
	return errs
}

// collector flattens the validator's error tree into field errors, one per
// problem.
type collector struct {
	schema *Schema
	out    []problem.FieldError
	seen   map[problem.FieldError]bool
}

func (c *collector) add(field, code, msg string) {
	e := problem.FieldError{Field: field, Code: code, Message: msg}
	if !c.seen[e] {
		c.seen[e] = true
		c.out = append(c.out, e)
	}
}

func (c *collector) collect(e *jsonschema.ValidationError) {
	path := fieldPath(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
		// Containers: every cause is a problem of its own.
		for _, cause := range e.Causes {
			c.collect(cause)
		}
	case *kind.Required:
		for _, name := range k.Missing {
			c.add(path+"."+name, "required", c.schema.propertyLabel(e.SchemaURL, name)+" is required")
		}
	case *kind.DependentRequired:
		for _, name := range k.Missing {
			c.add(path+"."+name, "dependent_required", fmt.Sprintf("%s is required when %q is present",
				c.schema.propertyLabel(e.SchemaURL, name), k.Prop))
		}
	case *kind.Dependency:
		for _, name := range k.Missing {
			c.add(path+"."+name, "dependent_required", fmt.Sprintf("%s is required when %q is present",
				c.schema.propertyLabel(e.SchemaURL, name), k.Prop))
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			c.add(path+"."+name, "additional_properties", fmt.Sprintf("%q is not a property of this form", name))
		}
	case *kind.PropertyNames:
		c.add(path+"."+k.Property, "property_names", fmt.Sprintf("%q is not an allowed property name", k.Property))
	default:
		code, msg := describe(k)
		if title := c.schema.title(e.SchemaURL); title != "" {
			msg = title + " " + msg
		}
		c.add(path, code, msg)
	}
}

// describe gives the code and message of a failed keyword that concerns
// the value itself. anyOf, oneOf and contains are reported once, at the
// value, rather than through the failures of every alternative, which
// would contradict one another.
func describe(k jsonschema.ErrorKind) (code, msg string) {
	switch k := k.(type) {
	case *kind.Type:
		return "type", "must be " + typeNames(k.Want)
	case *kind.Enum:
		return "enum", "must be one of " + values(k.Want)
	case *kind.Const:
		return "const", "must be " + values([]any{k.Want})
	case *kind.Pattern:
		return "pattern", fmt.Sprintf("must match the pattern %s", k.Want)
	case *kind.Format:
		return "format", fmt.Sprintf("must be a valid %s", k.Want)
	case *kind.Minimum:
		return "minimum", "must be at least " + ratString(k.Want)
	case *kind.Maximum:
		return "maximum", "must be at most " + ratString(k.Want)
	case *kind.ExclusiveMinimum:
		return "exclusive_minimum", "must be greater than " + ratString(k.Want)
	case *kind.ExclusiveMaximum:
		return "exclusive_maximum", "must be less than " + ratString(k.Want)
	case *kind.MultipleOf:
		return "multiple_of", "must be a multiple of " + ratString(k.Want)
	case *kind.MinLength:
		return "min_length", fmt.Sprintf("must be at least %d characters long", k.Want)
	case *kind.MaxLength:
		return "max_length", fmt.Sprintf("must be at most %d characters long", k.Want)
	case *kind.MinItems:
		return "min_items", fmt.Sprintf("must have at least %d items", k.Want)
	case *kind.MaxItems:
		return "max_items", fmt.Sprintf("must have at most %d items", k.Want)
	case *kind.AdditionalItems:
		return "additional_items", fmt.Sprintf("has %d items too many", k.Count)
	case *kind.UniqueItems:
		return "unique_items", fmt.Sprintf("must not repeat an item (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains:
		return "contains", "must contain a matching item"
	case *kind.MinContains:
		return "min_contains", fmt.Sprintf("must contain at least %d matching items", k.Want)
	case *kind.MaxContains:
		return "max_contains", fmt.Sprintf("must contain at most %d matching items", k.Want)
	case *kind.MinProperties:
		return "min_properties", fmt.Sprintf("must have at least %d properties", k.Want)
	case *kind.MaxProperties:
		return "max_properties", fmt.Sprintf("must have at most %d properties", k.Want)
	case *kind.Not:
		return "not", "is a value this form does not allow"
	case *kind.AnyOf:
		return "any_of", "must match at least one of the allowed forms"
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			return "one_of", "must match exactly one of the allowed forms, and matches none"
		}
		return "one_of", "must match exactly one of the allowed forms, and matches several"
	case *kind.FalseSchema:
		return "not_allowed", "is not allowed"
	}
	return CodeFormInvalid, k.LocalizedString(printer)
}

// title is the title of the subschema at loc, "" when it has none.
func (s *Schema) title(loc string) string {
	if sub := s.byLocation[loc]; sub != nil {
		return sub.Title
	}
	return ""
}

// propertyLabel names a property of the object schema at loc: its title
// and name when the schema gives a title (房间数 "rooms"), else its name.
func (s *Schema) propertyLabel(loc, name string) string {
	if obj := s.byLocation[loc]; obj != nil {
		if p := obj.Properties[name]; p != nil && p.Title != "" {
			return fmt.Sprintf("%s %q", p.Title, name)
		}
	}
	return strconv.Quote(name)
}

// fieldPath is the dotted path of a value: form, form.address.street,
// form.owners.0.name. Property names are not escaped; a name with a dot
// reads ambiguously, which a form schema should not use.
func fieldPath(tokens []string) string {
	if len(tokens) == 0 {
		return formField
	}
	return formField + "." + strings.Join(tokens, ".")
}

// comparePaths orders dotted paths segment by segment, array indexes
// numerically, so that form.owners.2 comes before form.owners.10.
func comparePaths(a, b string) int {
	for a != "" || b != "" {
		var sa, sb string
		sa, a, _ = strings.Cut(a, ".")
		sb, b, _ = strings.Cut(b, ".")
		na, errA := strconv.Atoi(sa)
		nb, errB := strconv.Atoi(sb)
		var c int
		if errA == nil && errB == nil {
			c = cmp.Compare(na, nb)
		} else {
			c = strings.Compare(sa, sb)
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func typeNames(want []string) string {
	names := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "null":
			names[i] = "null"
		case "array", "integer", "object":
			names[i] = "an " + w
		default:
			names[i] = "a " + w
		}
	}
	return strings.Join(names, " or ")
}

// values lists allowed values as JSON, the first few only, so that a long
// enum of region codes does not fill the answer.
func values(vs []any) string {
	const shown = 10
	var b strings.Builder
	for i, v := range vs {
		if i == shown {
			fmt.Fprintf(&b, ", ... (%d in all)", len(vs))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			b.WriteString("?")
			continue
		}
		b.Write(bytes.TrimSpace(buf.Bytes()))
	}
	return b.String()
}

// ratString writes a limit as a decimal: 1, 0.5, 1e+20.
func ratString(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}
