package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/onewindow/onewindow/shared/forms"
)

// maxSchemaBytes caps an item's form schema.
const maxSchemaBytes = 64 << 10

// schemaTypes are JSON Schema's type names.
var schemaTypes = map[string]bool{"object": true, "array": true, "string": true, "number": true,
	"integer": true, "boolean": true, "null": true}

// canonicalSchema checks that raw, when present and not null, is a JSON
// Schema object of reasonable shape and returns it as canonical JSON (keys
// sorted, no insignificant space), so that every replica renders the same
// bytes and ETags agree. It checks the structure keywords case-submit
// relies on (type, properties, required, items, enum) with messages that
// name the keyword, then compiles the canonical form as case-submit will
// (forms.Compile), so that a schema case-submit could not use (a remote
// $ref, a bad pattern, a recursive or too costly schema) is refused here
// rather than at every submission.
func canonicalSchema(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if len(raw) > maxSchemaBytes {
		return nil, fmt.Errorf("at most %d bytes", maxSchemaBytes)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errors.New("not valid JSON")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("a JSON Schema is an object")
	}
	if err := checkSchema(obj, "", 0); err != nil {
		return nil, err
	}
	canonical, err := canonicalJSON(v)
	if err != nil {
		return nil, err
	}
	if _, err := forms.Compile(canonical); err != nil {
		return nil, err
	}
	return canonical, nil
}

func canonicalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode form schema: %w", err)
	}
	return b, nil
}

// recanonical re-encodes stored JSON, which PostgreSQL's jsonb may have
// reordered, into canonical form.
func recanonical(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	b, err := canonicalJSON(v)
	if err != nil {
		return raw
	}
	return b
}

func checkSchema(s map[string]any, at string, depth int) error {
	if depth > 32 {
		return errors.New("nested more than 32 levels")
	}
	where := func(kw string) string {
		if at == "" {
			return kw
		}
		return at + "." + kw
	}
	if t, ok := s["type"]; ok {
		switch t := t.(type) {
		case string:
			if !schemaTypes[t] {
				return fmt.Errorf("%s: unknown type %q", where("type"), t)
			}
		case []any:
			for _, x := range t {
				if name, ok := x.(string); !ok || !schemaTypes[name] {
					return fmt.Errorf("%s: a list of type names", where("type"))
				}
			}
		default:
			return fmt.Errorf("%s: a type name or a list of them", where("type"))
		}
	}
	if p, ok := s["properties"]; ok {
		props, ok := p.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: an object of schemas", where("properties"))
		}
		for name, sub := range props {
			subObj, ok := sub.(map[string]any)
			if !ok {
				if _, isBool := sub.(bool); isBool {
					continue
				}
				return fmt.Errorf("%s: a schema", where("properties."+name))
			}
			if err := checkSchema(subObj, where("properties."+name), depth+1); err != nil {
				return err
			}
		}
	}
	if r, ok := s["required"]; ok {
		list, ok := r.([]any)
		if !ok {
			return fmt.Errorf("%s: a list of property names", where("required"))
		}
		for _, x := range list {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("%s: a list of property names", where("required"))
			}
		}
	}
	if e, ok := s["enum"]; ok {
		if _, ok := e.([]any); !ok {
			return fmt.Errorf("%s: a list", where("enum"))
		}
	}
	if it, ok := s["items"]; ok {
		switch it := it.(type) {
		case map[string]any:
			return checkSchema(it, where("items"), depth+1)
		case bool:
		default:
			return fmt.Errorf("%s: a schema", where("items"))
		}
	}
	return nil
}
