package faasbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onewindow/onewindow/infra/stackfile"
)

// writeTree creates files (path: content) under root; a path ending in
// ".sh" is made executable.
func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

func parseStack(t *testing.T, copies ...string) *stackfile.Stack {
	t.Helper()
	y := "version: 1.0\nprovider: {name: openfaas}\nfunctions:\n  echo: {lang: tpl, handler: ./functions/echo}\n  ghost: {lang: tpl, handler: ./functions/ghost}\n"
	if len(copies) > 0 {
		y += "configuration:\n  copy:\n"
		for _, c := range copies {
			y += "    - " + c + "\n"
		}
	}
	s, err := parseStackYAML(y)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// parseStackYAML parses a stack file with no environment variables set.
func parseStackYAML(y string) (*stackfile.Stack, error) {
	return stackfile.Parse([]byte(y), func(string) (string, bool) { return "", false })
}

// fakeRepo is a repository with a template "tpl", a function "echo" and a
// shared directory; it returns the repository root.
func fakeRepo(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	writeTree(t, root, map[string]string{
		"templates/tpl/Dockerfile":          "template Dockerfile",
		"templates/tpl/build.sh":            "#!/bin/sh\n",
		"templates/tpl/function/handler.go": "template handler",
		"templates/tpl/function/go.mod":     "template go.mod",
		"templates/tpl/function/SAMPLE.md":  "template-only sample file",
		"functions/echo/handler.go":         "echo handler",
		"functions/echo/go.mod":             "echo go.mod",
		"functions/echo/internal/x.go":      "echo internal",
		"functions/echo/build/echo/junk":    "faas-cli output",
		"functions/echo/template/tpl/junk":  "a template copy",
		"shared/go.mod":                     "shared go.mod",
		"shared/problem/problem.go":         "shared problem",
	})
	return root
}

func TestAssembleLayout(t *testing.T) {
	root := fakeRepo(t)
	dir := filepath.Join(root, "build", "echo")
	writeTree(t, dir, map[string]string{"stale-from-last-build": "x"})
	if err := Assemble(root, parseStack(t, "./shared"), "echo", "templates", dir); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // "" means absent
	}{
		{"Dockerfile", "template Dockerfile"},
		{"build.sh", "#!/bin/sh\n"},
		{"function/handler.go", "echo handler"},                  // overwritten by the handler
		{"function/go.mod", "echo go.mod"},                       // overwritten by the handler
		{"function/SAMPLE.md", "template-only sample file"},      // faas-cli keeps it: the template must not ship such files
		{"function/internal/x.go", "echo internal"},              // subdirectories overlaid
		{"function/shared/go.mod", "shared go.mod"},              // configuration.copy
		{"function/shared/problem/problem.go", "shared problem"}, // recursively
		{"function/build", ""},                                   // skipped like faas-cli
		{"function/template", ""},                                // skipped like faas-cli
		{"stale-from-last-build", ""},                            // dir emptied first
	}
	for _, tt := range tests {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tt.path)))
		switch {
		case tt.want == "" && !os.IsNotExist(err):
			t.Errorf("%s exists (err %v), want it absent", tt.path, err)
		case tt.want != "" && (err != nil || string(b) != tt.want):
			t.Errorf("%s = %q (err %v), want %q", tt.path, b, err, tt.want)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "build.sh"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("build.sh mode %v (err %v), want 0755 kept", info.Mode(), err)
	}
}

func TestAssembleOverwritesReadOnlyAndFollowsSymlinks(t *testing.T) {
	root := fakeRepo(t)
	// The template's sample is read-only: the handler's file still replaces it.
	ro := filepath.Join(root, "templates/tpl/function/handler.go")
	if err := os.Chmod(ro, 0o444); err != nil {
		t.Fatal(err)
	}
	// A link inside the repository is followed, as faas-cli does.
	if err := os.Symlink(filepath.Join(root, "shared", "problem"), filepath.Join(root, "functions/echo/linked")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ctx")
	if err := Assemble(root, parseStack(t), "echo", filepath.Join(root, "templates"), dir); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"function/handler.go": "echo handler", "function/linked/problem.go": "shared problem"} {
		if b, err := os.ReadFile(filepath.Join(dir, path)); err != nil || string(b) != want {
			t.Errorf("%s = %q (err %v), want %q", path, b, err, want)
		}
	}
	if info, err := os.Lstat(filepath.Join(dir, "function/linked")); err != nil || !info.IsDir() {
		t.Errorf("function/linked: want a copied directory, got %v (err %v)", info, err)
	}
}

func TestAssembleRefusesCopyPaths(t *testing.T) {
	root := fakeRepo(t)
	outside := filepath.Join(filepath.Dir(root), "secrets")
	writeTree(t, outside, map[string]string{"key": "secret"})
	writeTree(t, filepath.Dir(root), map[string]string{"repo-other/x": "sibling sharing the prefix"})
	if err := os.Symlink(outside, filepath.Join(root, "linked-secrets")); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{"../secrets", "outside the repository"},
		{"./shared/../../secrets", "outside the repository"},
		{"../repo-other", "outside the repository"}, // faas-cli's prefix check lets this one through
		{outside, "must be relative"},
		{".", "whole repository"},
		{"./", "whole repository"},
		{"./linked-secrets", "outside the repository"},
		{"./missing", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			dir := filepath.Join(root, "build", "echo")
			writeTree(t, dir, map[string]string{"previous": "kept"})
			err := Assemble(root, parseStack(t, tt.path), "echo", "templates", dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Assemble with copy %q: error %v, want one containing %q", tt.path, err, tt.want)
			}
			// Refused before anything was deleted or copied.
			if _, err := os.Stat(filepath.Join(dir, "previous")); err != nil {
				t.Errorf("the previous context was touched: %v", err)
			}
		})
	}
}

func TestAssembleRefusesBadInput(t *testing.T) {
	root := fakeRepo(t)
	tests := []struct {
		name, fn, templates, dir, want string
	}{
		{"unknown function", "nope", "templates", "build/nope", "not a function of the stack file"},
		{"missing handler directory", "ghost", "templates", "build/ghost", "handler directory ./functions/ghost"},
		{"missing template", "echo", "elsewhere", "build/echo", `template "tpl"`},
		{"dir is the repository", "echo", "templates", ".", "overlaps"},
		{"dir contains the repository", "echo", "templates", "..", "overlaps"},
		{"dir inside the handler", "echo", "templates", "functions/echo/out", "overlaps"},
		{"dir inside the template", "echo", "templates", "templates/tpl/out", "overlaps"},
		{"dir inside a copy path", "echo", "templates", "shared/out", "overlaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Assemble(root, parseStack(t, "./shared"), tt.fn, tt.templates, filepath.Join(root, tt.dir))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(root, "functions/echo/handler.go")); err != nil {
				t.Fatalf("the repository was damaged: %v", err)
			}
		})
	}
}
