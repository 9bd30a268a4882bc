package stackfile

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestSubstitute(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want string }{
		{"${SET}", "v"},
		{"${SET:-d}", "v"},
		{"${UNSET:-d}", "d"},
		{"${EMPTY:-d}", "d"},
		{"${UNSET}", ""},
		{"a/${UNSET:-ghcr.io/x}/b:${SET}", "a/ghcr.io/x/b:v"},
		{"$SET", "$SET"},
	}
	for _, tt := range tests {
		if got := string(Substitute([]byte(tt.in), lookup)); got != tt.want {
			t.Errorf("Substitute(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The repository's stack.yml must decode strictly and describe the seven
// functions of the contract with what OpenFaaS needs.
func TestRepositoryStack(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	s, err := Load(filepath.Join(filepath.Dir(file), "..", "..", "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"case-submit", "catalog-lookup", "document-fetch", "logistics-callback", "payment-callback", "serial-issue", "warning-scan"}
	got := s.Names()
	if len(got) != len(want) {
		t.Fatalf("functions = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("functions = %v, want %v", got, want)
		}
	}
	if len(s.Configuration.Copy) != 1 || s.Configuration.Copy[0] != "./shared" {
		t.Errorf("configuration.copy = %v, want [./shared]", s.Configuration.Copy)
	}
	for _, name := range got {
		fn := s.Functions[name]
		if fn.Handler != "./functions/"+name {
			t.Errorf("%s: handler %q", name, fn.Handler)
		}
		if fn.Labels["com.openfaas.scale.min"] == "" || fn.Labels["com.openfaas.scale.max"] == "" {
			t.Errorf("%s: scale labels missing: %v", name, fn.Labels)
		}
		if fn.Limits.Memory == "" || fn.Requests.Memory == "" {
			t.Errorf("%s: limits/requests missing", name)
		}
		if len(fn.Secrets) == 0 || fn.Environment["read_timeout"] == "" {
			t.Errorf("%s: secrets or timeouts missing", name)
		}
	}
	scan := s.Functions["warning-scan"]
	if scan.Annotations["topic"] != "cron-function" || scan.Annotations["schedule"] == "" {
		t.Errorf("warning-scan annotations = %v, want topic cron-function and a schedule", scan.Annotations)
	}
	if scan.Environment["DB_MAX_CONNS"] == "" || scan.Environment["read_timeout"] != "120s" {
		t.Errorf("warning-scan environment did not merge: %v", scan.Environment)
	}
}
