package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/faasbuild"
	"github.com/onewindow/onewindow/infra/stackfile"
)

// repoRoot is the repository: this module lives in <root>/tests.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "stack.yml")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

func loadStack(t *testing.T, root string) *stackfile.Stack {
	t.Helper()
	stack, err := stackfile.Load(filepath.Join(root, "stack.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return stack
}

// buildSlots is how many functions build at once. Each build (go test, go
// vet, go build) already uses every core, so a 2-core machine builds one
// at a time and bigger ones overlap a few.
func buildSlots() int { return max(1, runtime.NumCPU()/2) }

// TestBuildContexts builds every function of stack.yml exactly as its
// image is built (faas-cli's layout, the template's build.sh with tests and
// vet), then runs the binary the way of-watchdog does: it must become
// healthy, answer an unknown path with JSON, and exit 0 on SIGTERM. No
// database or object store is needed: functions connect lazily, and a
// request that needs one may answer 503.
func TestBuildContexts(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles and runs every function: not in -short")
	}
	root := repoRoot(t)
	stack := loadStack(t, root)
	templates := filepath.Join(root, "templates")
	slots := make(chan struct{}, buildSlots())
	for _, name := range stack.Names() {
		fn := stack.Functions[name]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			defer func() { <-slots }()

			if _, err := os.Stat(filepath.Join(root, fn.Handler)); err != nil {
				t.Fatalf("stack.yml lists %s with handler %s, which is missing: %v", name, fn.Handler, err)
			}
			checkNoTemplateLeftovers(t, filepath.Join(templates, fn.Lang, "function"), filepath.Join(root, fn.Handler))
			dir := filepath.Join(t.TempDir(), "build", name)
			if err := faasbuild.Assemble(root, stack, name, templates, dir); err != nil {
				t.Fatal(err)
			}
			bin := filepath.Join(t.TempDir(), "handler")
			if err := faasbuild.Compile(t.Context(), dir, bin, faasbuild.CompileOptions{Vet: true}); err != nil {
				t.Fatal(err) // the error ends with build.sh's output
			}
			if info, err := os.Stat(bin); err != nil || info.Mode()&0o111 == 0 {
				t.Fatalf("no executable at %s: %v", bin, err)
			}
			runFunction(t, name, fn, bin)
		})
	}
}

// checkNoTemplateLeftovers fails when the template's sample function has a
// file that the handler directory does not overwrite: it would survive in
// the build context, and a stale go.sum or a second handler file there
// changes what is compiled.
func checkNoTemplateLeftovers(t *testing.T, sample, handlerDir string) {
	t.Helper()
	err := filepath.WalkDir(sample, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(sample, p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(handlerDir, rel)); err != nil {
			t.Errorf("%s has no %s: the template's sample %s would survive in the build context", handlerDir, rel, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("template sample: %v", err)
	}
}

// runFunction starts bin as of-watchdog would (PORT, the function's
// environment from stack.yml, no secrets), checks it, and stops it with SIGTERM.
func runFunction(t *testing.T, name string, fn stackfile.Function, bin string) {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(bin)
	cmd.Env = functionEnv(name, fn, port)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed when the process has exited; waitErr is then its status.
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a no-op once it has exited
		<-exited
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, logs)
		}
	})
	base := "http://127.0.0.1:" + port
	client := &http.Client{Timeout: 5 * time.Second}

	if err := waitHealthy(client, base, exited); err != nil {
		select {
		case <-exited:
			t.Fatalf("%v: %v", err, waitErr)
		default:
			t.Fatal(err)
		}
	}

	const id = "buildcontext-test-1"
	req, err := http.NewRequest(http.MethodGet, base+"/no-such-path/for-the-build-context-test", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", id)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("unknown path: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if (mt != "application/json" && mt != "application/problem+json") || !json.Valid(body) {
		t.Errorf("unknown path: %d %q %s, want a JSON answer", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if res.StatusCode/100 != 4 && res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("unknown path: status %d, want 4xx (or 503 without a database): %s", res.StatusCode, body)
	}
	if got := res.Header.Get("X-Request-Id"); got != id {
		t.Errorf("X-Request-Id = %q, want the caller's %q", got, id)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("after SIGTERM: %v, want exit status 0", waitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15s after SIGTERM")
	}
	if !strings.Contains(logs.String(), `"request_id":"`+id+`"`) {
		t.Error("no log line for the request")
	}
}

// waitHealthy polls /_/health until it answers 200, the process exits, or
// a deadline passes.
func waitHealthy(client *http.Client, base string, exited <-chan struct{}) error {
	poll := time.NewTicker(25 * time.Millisecond)
	defer poll.Stop()
	deadline := time.After(10 * time.Second)
	var last string
	for {
		res, err := client.Get(base + "/_/health")
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK && string(body) == `{"status":"ok"}` {
				return nil
			}
			last = strconv.Itoa(res.StatusCode) + " " + string(body)
		} else {
			last = err.Error()
		}
		select {
		case <-exited:
			return errors.New("exited before it was healthy")
		case <-deadline:
			return fmt.Errorf("/_/health not 200 within 10s; last: %s", last)
		case <-poll.C:
		}
	}
}

// functionEnv is what the process gets in OpenFaaS: the function's
// environment from stack.yml, PORT and its name, and nothing of the test's
// own environment beyond PATH, HOME and TMPDIR (no DATABASE_URL sneaking in).
func functionEnv(name string, fn stackfile.Function, port string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for k, v := range fn.Environment {
		env = append(env, k+"="+v)
	}
	return append(env, "PORT="+port, "ONEWINDOW_FUNCTION="+name)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestUnformattedHandlerFailsAtGofmt: the build refuses unformatted code
// before it runs anything else, like the upstream template.
func TestUnformattedHandlerFailsAtGofmt(t *testing.T) {
	root := repoRoot(t)
	stack := loadStack(t, root)
	name := stack.Names()[0]
	dir := filepath.Join(t.TempDir(), "build", name)
	if err := faasbuild.Assemble(root, stack, name, filepath.Join(root, "templates"), dir); err != nil {
		t.Fatal(err)
	}
	// The temporary copy of the handler gets a badly spaced declaration.
	handler := filepath.Join(dir, "function", "handler.go")
	src, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(handler, append(src, "\nvar   unformatted = 1\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	bin := filepath.Join(t.TempDir(), "handler")
	err = faasbuild.Compile(t.Context(), dir, bin, faasbuild.CompileOptions{Vet: true, Log: &log})
	if err == nil {
		t.Fatal("an unformatted handler compiled")
	}
	out := log.String()
	if !strings.Contains(out, "gofmt: these files are not formatted") || !strings.Contains(out, "function/handler.go") {
		t.Errorf("want a gofmt failure naming function/handler.go; got %v\n%s", err, out)
	}
	if strings.Contains(out, "step 2/6") {
		t.Errorf("the build went past the gofmt step:\n%s", out)
	}
	if _, err := os.Stat(bin); err == nil {
		t.Error("a binary was written")
	}
}

// syncBuffer is a bytes.Buffer safe for the process's two output pipes and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
