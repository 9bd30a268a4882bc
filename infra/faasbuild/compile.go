package faasbuild

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// CompileOptions are the flags of the template's build.sh.
type CompileOptions struct {
	// SkipTests skips go test (--skip-tests). By default build.sh tests the
	// entrypoint and the function module, as the image build does.
	SkipTests bool
	// Vet runs go vet over the entrypoint and the function module (--vet).
	Vet bool
	// Log receives build.sh's output as it runs; nil discards it. The end
	// of the output is in Compile's error either way.
	Log io.Writer
}

// logTail is how much of build.sh's output a failure's error carries.
const logTail = 16 << 10

// Compile runs the template's build.sh in dir to produce the handler binary at out.
//
// dir is a context written by Assemble (or faas-cli). build.sh makes it a Go
// workspace of its own, so GOWORK is removed from the environment, and
// -mod/-modfile, which workspace mode rejects, from GOFLAGS. Cancelling ctx
// kills build.sh and the go commands it started.
func Compile(ctx context.Context, dir, out string, opts CompileOptions) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	if out, err = filepath.Abs(out); err != nil {
		return fmt.Errorf("compile %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "build.sh")); err != nil {
		return fmt.Errorf("compile %s: not a build context: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return fmt.Errorf("compile %s: %w", dir, err)
	}

	args := []string{"build.sh", "-o", out}
	if opts.SkipTests {
		args = append(args, "--skip-tests")
	}
	if opts.Vet {
		args = append(args, "--vet")
	}
	cmd := exec.CommandContext(ctx, "sh", args...)
	cmd.Dir = dir
	cmd.Env = buildEnv(os.Environ())
	tail := &tailWriter{max: logTail}
	var w io.Writer = tail
	if opts.Log != nil {
		w = io.MultiWriter(opts.Log, tail)
	}
	cmd.Stdout, cmd.Stderr = w, w // the same writer: exec serialises the writes
	killProcessGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second // a straggler holding the output open must not hang Compile

	if err := cmd.Run(); err != nil {
		return fmt.Errorf("compile %s: build.sh: %w; its output ends:\n%s", dir, err, tail)
	}
	return nil
}

// buildEnv is build.sh's environment: environ without GOWORK (the context
// is its own workspace; the repository's go.work, or GOWORK=off, must not
// apply) and with GOFLAGS stripped of -mod and -modfile. build.sh does the
// same; doing it here too keeps Compile's promise whatever script it runs.
func buildEnv(environ []string) []string {
	env := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "GOWORK":
			continue
		case "GOFLAGS":
			var kept []string
			for _, f := range strings.Fields(v) {
				if !strings.HasPrefix(f, "-mod=") && !strings.HasPrefix(f, "-modfile=") {
					kept = append(kept, f)
				}
			}
			kv = "GOFLAGS=" + strings.Join(kept, " ")
		}
		env = append(env, kv)
	}
	return env
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu        sync.Mutex
	max       int
	buf       []byte
	truncated bool
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
		t.truncated = true
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.truncated {
		return "..." + string(t.buf)
	}
	return string(t.buf)
}
