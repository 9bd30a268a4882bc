// Package stackfile reads stack.yml, the faas-cli deployment file, the way
// faas-cli does: ${VAR} and ${VAR:-default} are substituted from the
// environment first, then the YAML (anchors and merge keys included) is
// decoded. The local stack, the build-context test and the manifests'
// checks all read the functions from here, so stack.yml stays the one
// source of truth.
package stackfile

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"sort"

	"go.yaml.in/yaml/v3"
)

// Stack is the part of stack.yml that OneWindow uses.
type Stack struct {
	Version  string `yaml:"version"`
	Provider struct {
		Name    string `yaml:"name"`
		Gateway string `yaml:"gateway"`
	} `yaml:"provider"`
	Configuration struct {
		// Copy lists paths copied into each build context under function/.
		Copy []string `yaml:"copy"`
	} `yaml:"configuration"`
	Functions map[string]Function `yaml:"functions"`
}

// Function is one entry under functions:.
type Function struct {
	Name        string            `yaml:"-"`
	Lang        string            `yaml:"lang"`
	Handler     string            `yaml:"handler"`
	Image       string            `yaml:"image"`
	Environment map[string]string `yaml:"environment"`
	Secrets     []string          `yaml:"secrets"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	Limits      Resources         `yaml:"limits"`
	Requests    Resources         `yaml:"requests"`
}

// Resources are a function's CPU and memory limits or requests.
type Resources struct {
	Memory string `yaml:"memory"`
	CPU    string `yaml:"cpu"`
}

// Load reads and decodes the stack file at path.
func Load(path string) (*Stack, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read stack file: %w", err)
	}
	return Parse(raw, os.LookupEnv)
}

// Parse decodes a stack file, substituting variables through lookup.
func Parse(raw []byte, lookup func(string) (string, bool)) (*Stack, error) {
	expanded := Substitute(raw, lookup)
	var s Stack
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode stack file: %w", err)
	}
	if len(s.Functions) == 0 {
		return nil, fmt.Errorf("stack file lists no functions")
	}
	for name, fn := range s.Functions {
		fn.Name = name
		if fn.Lang == "" || fn.Handler == "" {
			return nil, fmt.Errorf("function %s: lang and handler are required", name)
		}
		s.Functions[name] = fn
	}
	return &s, nil
}

// Names returns the function names in sorted order.
func (s *Stack) Names() []string {
	names := make([]string, 0, len(s.Functions))
	for n := range s.Functions {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

var variable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Substitute replaces ${VAR} and ${VAR:-default} as faas-cli does before
// parsing; an unset or empty VAR takes the default.
func Substitute(raw []byte, lookup func(string) (string, bool)) []byte {
	return variable.ReplaceAllFunc(raw, func(m []byte) []byte {
		sub := variable.FindSubmatch(m)
		if v, ok := lookup(string(sub[1])); ok && v != "" {
			return []byte(v)
		}
		return sub[3]
	})
}
