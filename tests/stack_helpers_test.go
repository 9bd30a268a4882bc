package tests

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/testenv"
)

// runningStack is `onewindow run` started by a test.
type runningStack struct {
	root    string
	bin     string // the onewindow binary
	url     string // the gateway
	addr    string
	dataDir string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{} // closed once the process has been waited for
	exitErr error
	// env is the process's environment, for other onewindow commands.
	env []string
}

// startStack builds onewindow and starts `onewindow run` against the test
// PostgreSQL (a fresh database) and MinIO (a fresh bucket), on a free
// loopback port, with a data directory of its own.
func startStack(t *testing.T) *runningStack {
	t.Helper()
	root := repoRoot(t)
	tmp := t.TempDir()
	s := &runningStack{root: root, bin: filepath.Join(tmp, "onewindow"), dataDir: filepath.Join(tmp, "data"),
		out: &syncBuffer{}, exited: make(chan struct{})}

	build := exec.Command("go", "build", "-o", s.bin, "./infra/cmd/onewindow")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build onewindow: %v\n%s", err, out)
	}

	endpoint := os.Getenv(testenv.EnvS3Endpoint)
	if endpoint == "" {
		t.Fatalf("%s is not set: run the tests with `make test`", testenv.EnvS3Endpoint)
	}
	s.addr = freeLoopbackAddr(t)
	s.url = "http://" + s.addr
	s.env = append(os.Environ(),
		"ONEWINDOW_ADDR="+s.addr,
		"ONEWINDOW_DATA_DIR="+s.dataDir,
		"ONEWINDOW_APPS_FILE="+filepath.Join(root, "infra", "local", "apps.json"),
		"DATABASE_URL="+testenv.DatabaseURL(t),
		"S3_ENDPOINT="+endpoint,
		"S3_ACCESS_KEY="+os.Getenv(testenv.EnvS3AccessKey),
		"S3_SECRET_KEY="+os.Getenv(testenv.EnvS3SecretKey),
		"S3_DRIVER=minio",
		"S3_BUCKET=t-"+stackRandomHex(t, 8),
	)
	s.cmd = exec.Command(s.bin, "run")
	s.cmd.Dir = root
	s.cmd.Env = s.env
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	// Registered after testenv.DatabaseURL's cleanup, so it runs first:
	// the stack is gone before its database is dropped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("onewindow run's console:\n%s", tailOf(s.out.String(), 8000))
		}
		select {
		case <-s.exited:
			return
		default:
		}
		pids := s.pids(t)
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(time.Minute):
			_ = s.cmd.Process.Kill()
			for _, pid := range pids {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			<-s.exited
		}
	})
	return s
}

// waitHealthy polls /healthz until 200, failing if the process exits or
// timeout passes.
func (s *runningStack) waitHealthy(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-s.exited:
			t.Fatalf("onewindow run exited before it was healthy: %v", s.exitErr)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not 200 within %s (last: %v)", timeout, err)
		}
	}
}

// pidFiles returns the pid of every replica, by pid file name (<fn>-<i>).
func (s *runningStack) pidFiles(t *testing.T) map[string]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(s.dataDir, "run", "*.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pids := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // removed meanwhile
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return pids
}

func (s *runningStack) pids(t *testing.T) []int {
	var out []int
	for _, pid := range s.pidFiles(t) {
		out = append(out, pid)
	}
	return out
}

// appClient signs as app id of the local apps file.
func (s *runningStack) appClient(t *testing.T, id string) *client.Client {
	t.Helper()
	apps, err := auth.ReadAppsFile(filepath.Join(s.root, "infra", "local", "apps.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range apps {
		if a.ID == id {
			return client.New(s.url, a.ID, a.Secret)
		}
	}
	t.Fatalf("no app %q in the apps file", id)
	return nil
}

// stackAnswer is a response read whole.
type stackAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a stackAnswer) String() string {
	return fmt.Sprintf("%d %s", a.status, tailOf(string(a.body), 300))
}

// code is the problem code of a problem+json answer, "" otherwise.
func (a stackAnswer) code() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(a.body, &p)
	return p.Code
}

func readAnswer(resp *http.Response, err error) (stackAnswer, error) {
	if err != nil {
		return stackAnswer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return stackAnswer{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// signed sends a signed request.
func signedCall(ctx context.Context, c *client.Client, fn, method, path string, body []byte) (stackAnswer, error) {
	h := http.Header{}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	return readAnswer(c.Do(ctx, fn, method, path, body, h))
}

// reached reports whether a function answered a request itself, as far
// as the gateway and authentication go: not 401, and no server error
// other than 501 (a part not built yet).
func functionAnswered(status int) bool {
	return status != http.StatusUnauthorized && (status < 500 || status == http.StatusNotImplemented)
}

// poll calls cond every 100 ms until it holds, failing after timeout.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func stackRandomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// requiredMaterials lists the codes of an item's required materials.
func requiredMaterials(t *testing.T, c *client.Client, itemCode string) []string {
	t.Helper()
	a, err := signedCall(context.Background(), c, "catalog-lookup", http.MethodGet, "/items/"+itemCode, nil)
	if err != nil || a.status != http.StatusOK {
		t.Fatalf("item %s: %v %v", itemCode, a, err)
	}
	var item struct {
		Materials []struct {
			Code     string `json:"code"`
			Required bool   `json:"required"`
		} `json:"materials"`
	}
	if err := json.Unmarshal(a.body, &item); err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range item.Materials {
		if m.Required {
			codes = append(codes, m.Code)
		}
	}
	return codes
}
