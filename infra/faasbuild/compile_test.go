package faasbuild

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The throwaway function of these tests has the real functions' shape: its
// own module that requires a library module through a repository-relative
// replace, the library copied in by configuration.copy.
const (
	echoGoMod = `module example.com/ow/functions/echo

go 1.26.0

require (
	example.com/ow/lib v0.0.0-00010101000000-000000000000
	github.com/openfaas/templates-sdk/go-http v0.0.0-20220408082716-5981c545cb03
)

replace example.com/ow/lib => ../../lib
`
	echoGoSum = `github.com/openfaas/templates-sdk/go-http v0.0.0-20220408082716-5981c545cb03 h1:wMIW4ddCuogcuXcFO77BPSMI33s3QTXqLTOHY6mLqFw=
github.com/openfaas/templates-sdk/go-http v0.0.0-20220408082716-5981c545cb03/go.mod h1:2vlqdjIdqUjZphguuCAjoMz6QRPm2O8UT0TaAjd39S8=
`
	echoHandler = `package function

import (
	"example.com/ow/lib/greet"

	handler "github.com/openfaas/templates-sdk/go-http"
)

// Handle greets.
func Handle(req handler.Request) (handler.Response, error) {
	return handler.Response{Body: []byte(greet.Hello())}, nil
}
`
	echoTest = `package function

import (
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"
)

func TestHandle(t *testing.T) {
	res, err := Handle(handler.Request{})
	if err != nil || string(res.Body) != "hello" {
		t.Fatalf("Handle = %q, %v", res.Body, err)
	}
}
`
	libGoMod = "module example.com/ow/lib\n\ngo 1.26.0\n"
	libGreet = "package greet\n\n// Hello is the greeting.\nfunc Hello() string { return \"hello\" }\n"
	// libBrokenTest must never run: build.sh tests the function module only.
	libBrokenTest = "package greet\n\nimport \"testing\"\n\nfunc TestNeedsADatabase(t *testing.T) { t.Fatal(\"copied modules' tests must not run\") }\n"
)

// templatesDir is the repository's templates/, with the real onewindow-go.
func templatesDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "templates"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "onewindow-go", "build.sh")); err != nil {
		t.Fatalf("the onewindow-go template: %v", err)
	}
	return dir
}

// echoContext assembles the throwaway function, with edits applied to its
// handler directory first, and returns the context directory.
func echoContext(t *testing.T, edits map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	files := map[string]string{
		"functions/echo/go.mod":          echoGoMod,
		"functions/echo/go.sum":          echoGoSum,
		"functions/echo/handler.go":      echoHandler,
		"functions/echo/handler_test.go": echoTest,
		"lib/go.mod":                     libGoMod,
		"lib/greet/greet.go":             libGreet,
		"lib/greet/greet_test.go":        libBrokenTest,
	}
	for p, c := range edits {
		files[p] = c
	}
	writeTree(t, root, files)
	s, err := parseStackYAML("functions:\n  echo: {lang: onewindow-go, handler: ./functions/echo}\nconfiguration: {copy: [./lib]}\n")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "build", "echo")
	if err := Assemble(root, s, "echo", templatesDir(t), dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles Go code: not in -short")
	}
	// What a developer's shell may hold must not leak into the context's workspace.
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=vendor -buildvcs=false")

	tests := []struct {
		name     string
		edits    map[string]string
		opts     CompileOptions
		wantFail string // "" means success; else a line build.sh must print
	}{
		{name: "builds with tests and vet", opts: CompileOptions{Vet: true}},
		{name: "unformatted code", edits: map[string]string{"functions/echo/handler.go": strings.Replace(echoHandler, "func Handle(", "func  Handle(", 1)},
			wantFail: "gofmt: these files are not formatted"},
		{name: "failing test", edits: map[string]string{"functions/echo/handler_test.go": strings.Replace(echoTest, `!= "hello"`, `!= "bye"`, 1)},
			wantFail: "FAILED: go test failed"},
		{name: "failing test skipped", edits: map[string]string{"functions/echo/handler_test.go": strings.Replace(echoTest, `!= "hello"`, `!= "bye"`, 1)},
			opts: CompileOptions{SkipTests: true}},
		{name: "vet finding", edits: map[string]string{"functions/echo/vet.go": "package function\n\nimport \"fmt\"\n\nfunc sloppy() { fmt.Printf(\"%d\\n\", \"x\") }\n"},
			opts: CompileOptions{SkipTests: true, Vet: true}, wantFail: "FAILED: go vet failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := echoContext(t, tt.edits)
			out := filepath.Join(t.TempDir(), "bin", "handler")
			var log bytes.Buffer
			tt.opts.Log = &log
			err := Compile(context.Background(), dir, out, tt.opts)
			_, statErr := os.Stat(out)
			if tt.wantFail == "" {
				if err != nil {
					t.Fatal(err)
				}
				if statErr != nil {
					t.Fatalf("no binary: %v", statErr)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantFail) || !strings.Contains(log.String(), tt.wantFail) {
				t.Fatalf("error %v, want one whose output has %q; log:\n%s", err, tt.wantFail, log.String())
			}
			if statErr == nil {
				t.Error("a failed build left a binary")
			}
		})
	}
}

// TestTemplateBuildsAlone: the template with its sample function is itself
// a build context, whose tests (the entrypoint's) pass.
func TestTemplateBuildsAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles Go code: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "onewindow-go")
	if err := copyTree(filepath.Join(templatesDir(t), "onewindow-go"), dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "handler")
	if err := Compile(context.Background(), dir, out, CompileOptions{Vet: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}

func TestCompileCancelled(t *testing.T) {
	dir := echoContext(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Compile(ctx, dir, filepath.Join(t.TempDir(), "handler"), CompileOptions{}); err == nil {
		t.Fatal("Compile with a cancelled context succeeded")
	}
}

func TestBuildEnv(t *testing.T) {
	got := buildEnv([]string{"GOWORK=/repo/go.work", "GOFLAGS=-mod=vendor -buildvcs=false -modfile=x.mod -tags=a", "PATH=/bin", "GOWORKX=kept"})
	want := []string{"GOFLAGS=-buildvcs=false -tags=a", "PATH=/bin", "GOWORKX=kept"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("buildEnv = %q, want %q", got, want)
	}
}
