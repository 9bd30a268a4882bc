package forms

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
)

func TestCache(t *testing.T) {
	c := NewCache(2)
	a := json.RawMessage(`{"required":["a"]}`)
	b := json.RawMessage(`{"required":["b"]}`)
	bad := json.RawMessage(`{"$ref":"https://example.com/s.json"}`)

	for _, absent := range []string{"", "null", " \n"} {
		if s, err := c.Schema("A@1", json.RawMessage(absent)); s != nil || err != nil {
			t.Errorf("Schema(%q) = %v, %v; want nil, nil", absent, s, err)
		}
	}
	sa, err := c.Schema("A@1", a)
	if err != nil {
		t.Fatalf("Schema(a): %v", err)
	}
	if again, _ := c.Schema("A@1", json.RawMessage(" "+string(a)+"\n")); again != sa {
		t.Error("the same schema compiled twice")
	}
	// A key reused for other bytes (a catalogue rebuilt) recompiles.
	if other, _ := c.Schema("A@1", b); other == sa || other.Validate(json.RawMessage(`{"a":1}`)) == nil {
		t.Error("a reused key answered the old schema")
	}
	if sa, err = c.Schema("A@1", a); err != nil {
		t.Fatalf("Schema(a): %v", err)
	}
	if errs := sa.Validate(json.RawMessage(`{}`)); len(errs) != 1 || errs[0].Field != "form.a" {
		t.Errorf("cached schema Validate = %v", errs)
	}
	if _, err := c.Schema("BAD@1", bad); err == nil {
		t.Error("Schema(bad) = nil error")
	}
	if _, err := c.Schema("BAD@1", bad); err == nil {
		t.Error("Schema(bad) from the cache = nil error")
	}
	// a, bad: b evicts a, the least recently used.
	sb, err := c.Schema("B@1", b)
	if err != nil {
		t.Fatalf("Schema(b): %v", err)
	}
	if n := c.recent.Len(); n != 2 {
		t.Errorf("cache holds %d schemas, want 2", n)
	}
	if again, _ := c.Schema("B@1", b); again != sb {
		t.Error("b was evicted instead of a")
	}
	if again, _ := c.Schema("A@1", a); again == sa {
		t.Error("a was kept beyond the cache's size")
	}
}

func TestNewCacheDefaultSize(t *testing.T) {
	if c := NewCache(0); c.size != defaultCacheSize {
		t.Errorf("NewCache(0).size = %d", c.size)
	}
}

// TestCacheConcurrent: many submissions validating against few schemas at
// once (run with -race).
func TestCacheConcurrent(t *testing.T) {
	c := NewCache(4)
	schemas := make([]json.RawMessage, 6)
	for i := range schemas {
		schemas[i] = json.RawMessage(fmt.Sprintf(`{"required":["f%d"],"properties":{"f%d":{"type":"integer","minimum":%d}}}`, i, i, i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 200 {
				i := (g + n) % len(schemas)
				s, err := c.Schema(fmt.Sprintf("I%d@1", i), schemas[i])
				if err != nil {
					t.Errorf("Schema: %v", err)
					return
				}
				ok := json.RawMessage(fmt.Sprintf(`{"f%d":%d}`, i, i))
				if errs := s.Validate(ok); errs != nil {
					t.Errorf("Validate(%s) = %v", ok, errs)
					return
				}
				if errs := s.Validate(json.RawMessage(`{}`)); len(errs) != 1 {
					t.Errorf("Validate({}) = %v", errs)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := c.recent.Len(); n > 4 || n != len(c.entries) {
		t.Errorf("cache holds %d schemas in its list and %d in its map, want at most 4", n, len(c.entries))
	}
}
