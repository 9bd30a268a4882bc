package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
	"github.com/onewindow/onewindow/infra/supervisor/supervisortest"
)

func TestMain(m *testing.M) {
	supervisortest.MaybeRun()
	os.Exit(m.Run())
}

// fakeFn declares a function of a test stack, run by fake processes.
type fakeFn struct {
	name     string
	replicas int
	labels   map[string]string
	annots   map[string]string
	env      []string
	notAdded bool // declared to the gateway but never started
}

// stack is a gateway in front of a supervisor running fake functions.
type stack struct {
	url     string
	sup     *supervisor.Supervisor
	ev      *supervisortest.Events
	runDir  string
	markDir string
	build   func(ctx context.Context, fn string) (string, error)
}

func newStack(t *testing.T, fns ...fakeFn) *stack {
	t.Helper()
	dir := t.TempDir()
	s := &stack{ev: supervisortest.NewEvents(), runDir: filepath.Join(dir, "run"), markDir: filepath.Join(dir, "marks")}
	for _, d := range []string{s.runDir, s.markDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.sup = supervisor.New(supervisor.Config{
		RunDir:         s.runDir,
		StartTimeout:   10 * time.Second,
		HealthInterval: 100 * time.Millisecond,
		Backoff:        func() backoff.BackOff { return backoff.NewConstantBackOff(20 * time.Millisecond) },
		OnEvent:        s.ev.Record,
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), supervisortest.WaitTimeout)
		defer cancel()
		if err := s.sup.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	decl := map[string]stackfile.Function{}
	mark := s.ev.Mark()
	for _, f := range fns {
		decl[f.name] = stackfile.Function{Name: f.name, Lang: "onewindow-go", Handler: "./functions/" + f.name,
			Image: "example/" + f.name + ":latest", Labels: f.labels, Annotations: f.annots,
			Environment: map[string]string{"write_timeout": "5s"}, Secrets: []string{"database-url"}}
		if f.notAdded {
			continue
		}
		env := fakeEnv(f.name, append([]string{supervisortest.EnvMarkDir + "=" + s.markDir}, f.env...)...)
		if err := s.sup.Add(supervisor.Spec{Name: f.name, Binary: fakeBinary(), Env: env, Replicas: f.replicas, StopGrace: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := gateway.New(gateway.Config{Functions: decl, Backend: s.sup,
		Build: func(ctx context.Context, fn string) (string, error) { return s.build(ctx, fn) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	for _, f := range fns {
		if !f.notAdded && f.replicas > 0 {
			s.ev.WaitN(t, mark, f.name, supervisor.EventHealthy, f.replicas)
		}
	}
	return s
}

// pid reads the pid file of fn's replica i.
func (s *stack) pid(t *testing.T, fn string, i int) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.runDir, fmt.Sprintf("%s-%d.pid", fn, i)))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// reply is a response read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) answer(t *testing.T) supervisortest.Answer {
	t.Helper()
	var a supervisortest.Answer
	if err := json.Unmarshal(r.body, &a); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return a
}

// problem is the part of a problem+json body the tests look at.
type problem struct {
	Status    int      `json:"status"`
	Code      string   `json:"code"`
	Detail    string   `json:"detail"`
	Replica   string   `json:"replica"`
	Pid       int      `json:"pid"`
	Unhealthy []string `json:"unhealthy"`
}

func (r reply) problem(t *testing.T) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	var p problem
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("status %d, body %q: %v", r.status, r.body, err)
	}
	return p
}

// do sends a request with the standard client.
func do(client *http.Client, method, url, body string, h http.Header) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{err: err}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func (s *stack) get(t *testing.T, path string) reply {
	t.Helper()
	r := do(http.DefaultClient, http.MethodGet, s.url+path, "", nil)
	if r.err != nil {
		t.Fatalf("GET %s: %v", path, r.err)
	}
	return r
}

func (s *stack) send(t *testing.T, method, path, body string) reply {
	t.Helper()
	r := do(http.DefaultClient, method, s.url+path, body, http.Header{"Content-Type": {"application/json"}})
	if r.err != nil {
		t.Fatalf("%s %s: %v", method, path, r.err)
	}
	return r
}

// raw sends "GET target" byte for byte, bypassing the client's URL
// handling, so that tests control the exact request target.
func (s *stack) raw(t *testing.T, method, target string, header http.Header) reply {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\nContent-Length: 0\r\n", method, target)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// until polls cond every 20 ms until it holds, failing after WaitTimeout.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(supervisortest.WaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, supervisortest.WaitTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fakeBinary is the executable of the fake function processes.
func fakeBinary() string { return os.Args[0] }

// fakeEnv is the environment of a fake process of fn.
func fakeEnv(fn string, extra ...string) []string {
	return supervisortest.Env(append([]string{"ONEWINDOW_FUNCTION=" + fn}, extra...)...)
}
