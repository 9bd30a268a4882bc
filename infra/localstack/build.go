package localstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/onewindow/onewindow/infra/faasbuild"
	"github.com/onewindow/onewindow/infra/stackfile"
)

// Builder compiles a function of the stack exactly as its image is built
// (faasbuild.Assemble, then the template's build.sh through
// faasbuild.Compile, tests skipped), from the repository's working tree.
//
// Layout under the data directory:
//
//	build/<fn>/         the build context, assembled afresh by every build
//	bin/<fn>-<n>        the n-th binary built for fn in this run; a running
//	                    replica's binary is never overwritten
//	logs/build-<fn>.log build.sh's output of the latest build
type Builder struct {
	// RepoRoot holds stack.yml and templates/.
	RepoRoot string
	// Stack is the parsed stack.yml.
	Stack *stackfile.Stack
	// DataDir is the local stack's data directory.
	DataDir string

	mu  sync.Mutex
	seq map[string]int
	// building serialises builds of one function (they share build/<fn>).
	building sync.Map // fn -> *sync.Mutex
}

// Build assembles and compiles fn and returns the new binary's path. Its
// error ends with the tail of build.sh's output.
func (b *Builder) Build(ctx context.Context, fn string) (string, error) {
	lock, _ := b.building.LoadOrStore(fn, new(sync.Mutex))
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()

	b.mu.Lock()
	if b.seq == nil {
		b.seq = map[string]int{}
	}
	b.seq[fn]++
	n := b.seq[fn]
	b.mu.Unlock()

	dir := filepath.Join(b.DataDir, "build", fn)
	out := filepath.Join(b.DataDir, "bin", fmt.Sprintf("%s-%d", fn, n))
	if err := faasbuild.Assemble(b.RepoRoot, b.Stack, fn, filepath.Join(b.RepoRoot, "templates"), dir); err != nil {
		return "", fmt.Errorf("build %s: %w", fn, err)
	}
	logPath := filepath.Join(b.DataDir, "logs", "build-"+fn+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("build %s: %w", fn, err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- onewindow: building %s at %s\n", fn, time.Now().Format(time.RFC3339))
	if err := faasbuild.Compile(ctx, dir, out, faasbuild.CompileOptions{SkipTests: true, Log: logf}); err != nil {
		return "", fmt.Errorf("build %s (full log: %s): %w", fn, logPath, err)
	}
	return out, nil
}
