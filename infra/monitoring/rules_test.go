package monitoring

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/onewindow/onewindow/shared/metrics"
	// The domain packages define their metrics when imported.
	_ "github.com/onewindow/onewindow/shared/cards"
	_ "github.com/onewindow/onewindow/shared/payments"
	_ "github.com/onewindow/onewindow/shared/serial"
	_ "github.com/onewindow/onewindow/shared/shipments"
	_ "github.com/onewindow/onewindow/shared/webhook"
)

// ruleFile is the part of Prometheus's rule-file format we use; decoding
// is strict, so a misspelt key fails rather than being ignored.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations struct {
		Summary string `yaml:"summary"`
		Runbook string `yaml:"runbook"`
	} `yaml:"annotations"`
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	raw, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var f ruleFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	return f
}

// TestAlertRules: every rule is complete, and every metric its expression
// names is one the code defines.
func TestAlertRules(t *testing.T) {
	f := readRules(t)
	known := metrics.Names()
	seen := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: needs a name and rules", g.Name)
		}
		for _, r := range g.Rules {
			if r.Alert == "" || seen[r.Alert] {
				t.Errorf("group %s: alert name %q empty or repeated", g.Name, r.Alert)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
				}
			}
			if s := r.Labels["severity"]; !slices.Contains([]string{"critical", "warning", "info"}, s) {
				t.Errorf("%s: severity %q is not critical, warning or info", r.Alert, s)
			}
			if r.Annotations.Summary == "" || r.Annotations.Runbook == "" {
				t.Errorf("%s: needs a summary and a runbook", r.Alert)
			}
			names, err := metricNames(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
			if len(names) == 0 {
				t.Errorf("%s: the expression names no metric", r.Alert)
			}
			for _, n := range names {
				if !slices.Contains(known, n) {
					t.Errorf("%s: metric %s is not defined in shared/ (known: %v)", r.Alert, n, known)
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("alerts.yml has no rules")
	}
}

// TestMetricNames: the scanner finds the metric names of an expression
// and nothing else: not functions, keywords, grouping labels, label
// matchers, strings, ranges or numbers.
func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr    string
		want    []string
		wantErr bool
	}{
		{expr: `up`, want: []string{"up"}},
		{expr: `sum by (function, le) (rate(a_bucket{route!="x", status=~"5.."}[5m])) / on (function) group_left b > 0.5`,
			want: []string{"a_bucket", "b"}},
		{expr: `histogram_quantile(0.99, x) > 1e3 and y offset 5m unless without (z) (w)`, want: []string{"x", "y", "w"}},
		{expr: `max(a) > 20 * 3600 or vector(0)`, want: []string{"a"}},
		{expr: `sum by (f) (rate(a[5m])) / sum without (g) (b)`, want: []string{"a", "b"}},
		{expr: `{__name__="a"}`, want: nil},
		{expr: `sum(a`, wantErr: true},
		{expr: `a{b="c}`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := metricNames(tt.expr)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%q) = %v, %v; want %v (error: %v)", tt.expr, got, err, tt.want, tt.wantErr)
		}
	}
}

// metricNames returns the metric names a PromQL expression selects, in
// order. It is a scanner, not a parser: enough for our rules, and it fails
// on unbalanced brackets or an unterminated string rather than guess.
func metricNames(expr string) ([]string, error) {
	keywords := []string{"and", "or", "unless", "bool", "offset", "group_left", "group_right"}
	grouping := []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
	var names []string
	depth := 0 // of ( ), to check the balance
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			i += end + 2
		case c == '{' || c == '[':
			// Label matchers and ranges: skip to the closing bracket,
			// over strings that may hold one.
			j, err := closing(expr, i)
			if err != nil {
				return nil, err
			}
			i = j + 1
		case c == '(':
			depth++
			i++
		case c == ')':
			if depth--; depth < 0 {
				return nil, fmt.Errorf("unbalanced ) at %d", i)
			}
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isWordByte(expr[i]) || expr[i] == '.') {
				i++ // a number or a duration (offset 5m)
			}
		case isWordByte(c):
			start := i
			for i < len(expr) && (isWordByte(expr[i]) || expr[i] == ':') {
				i++
			}
			word := expr[start:i]
			next := strings.TrimLeft(expr[i:], " \t\n")
			switch {
			case slices.Contains(grouping, word) && strings.HasPrefix(next, "("):
				// by (a, b): label names, not metrics.
				j := strings.IndexByte(expr[i:], ')')
				if j < 0 {
					return nil, fmt.Errorf("unbalanced ( after %s", word)
				}
				i += j + 1
			case slices.Contains(keywords, word), strings.HasPrefix(next, "("),
				nextWord(next) == "by", nextWord(next) == "without":
				// an operator, or a function or aggregation being called
				// (sum by (a) (...))
			default:
				names = append(names, word)
			}
		case c == '}' || c == ']':
			return nil, fmt.Errorf("unbalanced %c at %d", c, i)
		default:
			i++
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d unclosed (", depth)
	}
	return names, nil
}

// closing returns the index of the bracket closing the one at open.
func closing(expr string, open int) (int, error) {
	want := map[byte]byte{'{': '}', '[': ']'}[expr[open]]
	for i := open + 1; i < len(expr); i++ {
		switch c := expr[i]; {
		case c == want:
			return i, nil
		case c == '"' || c == '\'' || c == '`':
			end := strings.IndexByte(expr[i+1:], c)
			if end < 0 {
				return 0, fmt.Errorf("unterminated string at %d", i)
			}
			i += end + 1
		}
	}
	return 0, fmt.Errorf("unclosed %c at %d", expr[open], open)
}

// nextWord is the word s starts with.
func nextWord(s string) string {
	i := 0
	for i < len(s) && isWordByte(s[i]) {
		i++
	}
	return s[:i]
}

func isWordByte(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
