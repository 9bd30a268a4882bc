package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	handler "github.com/openfaas/templates-sdk/go-http"
)

// logBuffer collects the entrypoint's log lines; servers log from their own goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testConfig(t *testing.T) (config, *logBuffer) {
	t.Helper()
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	cfg.log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg, logs
}

// seen records the request Handle received.
type seen struct {
	called bool
	req    handler.Request
}

func recordingHandle(s *seen) func(handler.Request) (handler.Response, error) {
	return func(req handler.Request) (handler.Response, error) {
		s.called, s.req = true, req
		return handler.Response{Body: []byte(`{"ok":true}`), Header: http.Header{"Content-Type": {"application/json"}}}, nil
	}
}

func serve1(t *testing.T, handle func(handler.Request) (handler.Response, error), r *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	cfg, _ := testConfig(t)
	w := httptest.NewRecorder()
	newHandler(handle, cfg).ServeHTTP(w, r)
	return w
}

func TestPathQueryAndBodyReachHandle(t *testing.T) {
	tests := []struct {
		name, method, target, spoof, body string
		wantPath, wantQuery               string
	}{
		{"subpath and query", http.MethodGet, "/cases/13010012026112200000013?limit=5&cursor=a%20b", "", "",
			"/cases/13010012026112200000013", "limit=5&cursor=a%20b"},
		{"empty path is /", http.MethodPost, "http://fn.example", "", `{"a":1}`, "/", ""},
		{"escaped as sent", http.MethodPut, "/items/a%2Fb/c?q=%E6%B0%91%E5%AE%BF", "", "x", "/items/a%2Fb/c", "q=%E6%B0%91%E5%AE%BF"},
		{"spoofed path header is overwritten", http.MethodGet, "/verify?serial=1", "/admin", "", "/verify", "serial=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			r := httptest.NewRequest(tt.method, tt.target, strings.NewReader(tt.body))
			if tt.spoof != "" {
				r.Header.Set("x-function-path", tt.spoof)
			}
			w := serve1(t, recordingHandle(&s), r)
			if w.Code != http.StatusOK || !s.called {
				t.Fatalf("status %d, Handle called %v", w.Code, s.called)
			}
			if got := s.req.Header.Values(pathHeader); len(got) != 1 || got[0] != tt.wantPath {
				t.Errorf("%s = %q, want [%q]", pathHeader, got, tt.wantPath)
			}
			if s.req.QueryString != tt.wantQuery || s.req.Method != tt.method || string(s.req.Body) != tt.body {
				t.Errorf("Handle got query %q method %s body %q", s.req.QueryString, s.req.Method, s.req.Body)
			}
			if s.req.Host != r.Host {
				t.Errorf("Host = %q, want %q", s.req.Host, r.Host)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("the result's headers were not copied: Content-Type %q", got)
			}
		})
	}
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"caller's id is kept", "req-7f3a_01.b:c", true},
		{"a UUID is kept", "0b8f8c5e-2f49-4c1e-9a51-0d2f1c8e7b11", true},
		{"absent: a new UUID", "", false},
		{"spaces: replaced", "drop table", false},
		{"quotes: replaced", `a"b`, false},
		{"longer than 128: replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s seen
			r := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.sent != "" {
				r.Header.Set(requestIDHeader, tt.sent)
			}
			w := serve1(t, recordingHandle(&s), r)
			got := w.Header().Get(requestIDHeader)
			if s.req.Header.Get(requestIDHeader) != got {
				t.Errorf("Handle saw %q, response has %q", s.req.Header.Get(requestIDHeader), got)
			}
			if tt.kept {
				if got != tt.sent {
					t.Errorf("X-Request-Id = %q, want the caller's %q", got, tt.sent)
				}
				return
			}
			if _, err := uuid.Parse(got); err != nil || got == tt.sent {
				t.Errorf("X-Request-Id = %q, want a new UUID", got)
			}
		})
	}

	t.Run("Handle cannot replace it", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.Header.Set(requestIDHeader, "mine")
		w := serve1(t, func(handler.Request) (handler.Response, error) {
			return handler.Response{Header: http.Header{requestIDHeader: {"other"}}}, nil
		}, r)
		if got := w.Header().Values(requestIDHeader); len(got) != 1 || got[0] != "mine" {
			t.Errorf("X-Request-Id = %q, want [mine]", got)
		}
	})
}

// guardReader is an endless body that fails the test when more is read from
// it than limit: the entrypoint must never read an oversized body whole.
type guardReader struct {
	t     *testing.T
	n     int64 // bytes read so far
	limit int64
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.n+int64(len(p)) > g.limit {
		g.t.Errorf("read past %d bytes of the body", g.limit)
		return 0, errors.New("guardReader: read past the limit")
	}
	for i := range p {
		p[i] = 'a'
	}
	g.n += int64(len(p))
	return len(p), nil
}

func TestBodyLimit(t *testing.T) {
	tests := []struct {
		name          string
		contentLength int64     // -1: unknown, as for a chunked body
		body          io.Reader // nil: a guardReader
		wantStatus    int
		wantRead      int64 // -1: not checked
	}{
		// Declared too large: refused before a byte is read.
		{"declared over 1 MiB", maxBodyBytes + 1, nil, http.StatusRequestEntityTooLarge, 0},
		{"declared 1 GiB", 1 << 30, nil, http.StatusRequestEntityTooLarge, 0},
		// Chunked: MaxBytesReader stops one byte past the limit.
		{"chunked over 1 MiB", -1, nil, http.StatusRequestEntityTooLarge, -1},
		{"exactly 1 MiB declared", maxBodyBytes, bytes.NewReader(make([]byte, maxBodyBytes)), http.StatusOK, -1},
		{"exactly 1 MiB chunked", -1, bytes.NewReader(make([]byte, maxBodyBytes)), http.StatusOK, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			guard := &guardReader{t: t, limit: maxBodyBytes + 1}
			body := tt.body
			if body == nil {
				body = guard
			}
			r := httptest.NewRequest(http.MethodPost, "/cases", body)
			r.ContentLength = tt.contentLength
			if tt.contentLength < 0 {
				r.TransferEncoding = []string{"chunked"}
			}
			var s seen
			w := serve1(t, recordingHandle(&s), r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if tt.wantRead >= 0 && guard.n != tt.wantRead {
				t.Errorf("read %d bytes of the body, want %d", guard.n, tt.wantRead)
			}
			if w.Header().Get(requestIDHeader) == "" {
				t.Error("no X-Request-Id on the answer")
			}
			if tt.wantStatus == http.StatusOK {
				if len(s.req.Body) != maxBodyBytes {
					t.Errorf("Handle got %d bytes, want %d", len(s.req.Body), maxBodyBytes)
				}
				return
			}
			if s.called {
				t.Error("Handle was called for an oversized body")
			}
			checkProblem(t, w.Result(), http.StatusRequestEntityTooLarge, "body_too_large")
		})
	}
}

// checkProblem asserts res is the contract's problem+json with status and code.
func checkProblem(t *testing.T, res *http.Response, status int, code string) map[string]any {
	t.Helper()
	defer res.Body.Close()
	if res.StatusCode != status {
		t.Errorf("status %d, want %d", res.StatusCode, status)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json", ct)
	}
	var p map[string]any
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatalf("problem body: %v", err)
	}
	want := map[string]any{"type": "urn:onewindow:problem:" + code, "title": http.StatusText(status), "status": float64(status), "code": code}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("problem %s = %v, want %v", k, p[k], v)
		}
	}
	if d, _ := p["detail"].(string); d == "" {
		t.Error("problem has no detail")
	}
	return p
}

func TestHandleFailures(t *testing.T) {
	cfg, logs := testConfig(t)
	srv := httptest.NewServer(newHandler(func(req handler.Request) (handler.Response, error) {
		switch req.Header.Get(pathHeader) {
		case "/panic":
			panic("boom")
		case "/error":
			return handler.Response{}, errors.New("dial db: password=hunter2 refused")
		}
		return handler.Response{StatusCode: http.StatusCreated}, nil
	}, cfg))
	defer srv.Close()

	get := func(path string) *http.Response {
		t.Helper()
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	res := get("/panic")
	if res.Header.Get(requestIDHeader) == "" {
		t.Error("no X-Request-Id on the 500")
	}
	checkProblem(t, res, http.StatusInternalServerError, "internal_error")
	if l := logs.String(); !strings.Contains(l, "panic in Handle") || !strings.Contains(l, "goroutine") {
		t.Errorf("the panic was not logged with its stack:\n%s", l)
	}

	res = get("/ok") // the replica keeps serving
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Errorf("after a panic: status %d, want 201", res.StatusCode)
	}

	p := checkProblem(t, get("/error"), http.StatusInternalServerError, "internal_error")
	if strings.Contains(p["detail"].(string), "hunter2") {
		t.Errorf("the error leaked into the answer: %v", p["detail"])
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Error("the error Handle returned was not logged")
	}
}

func TestHealthIsAnsweredWithoutHandle(t *testing.T) {
	var s seen
	w := serve1(t, recordingHandle(&s), httptest.NewRequest(http.MethodGet, healthPath, nil))
	if w.Code != http.StatusOK || w.Body.String() != `{"status":"ok"}` || s.called {
		t.Errorf("status %d body %q, Handle called %v", w.Code, w.Body, s.called)
	}
}

func TestHandleContextHasDeadline(t *testing.T) {
	cfg, _ := testConfig(t)
	var deadline time.Time
	var ok bool
	before := time.Now()
	newHandler(func(req handler.Request) (handler.Response, error) {
		deadline, ok = req.Context().Deadline()
		return handler.Response{}, nil
	}, cfg).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	after := time.Now()
	if !ok {
		t.Fatal("Handle's context has no deadline")
	}
	if deadline.Before(before.Add(cfg.handleTimeout)) || deadline.After(after.Add(cfg.handleTimeout)) {
		t.Errorf("deadline %s after the request, want %s (write_timeout %s)", deadline.Sub(before), cfg.handleTimeout, cfg.writeTimeout)
	}
	if cfg.handleTimeout >= cfg.writeTimeout {
		t.Errorf("handle timeout %s is not under write_timeout %s", cfg.handleTimeout, cfg.writeTimeout)
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", defaultTimeout, false},
		{"10", 10 * time.Second, false},
		{"10s", 10 * time.Second, false},
		{"1m30s", 90 * time.Second, false},
		{"500ms", 500 * time.Millisecond, false},
		{"0", 0, false},
		{"junk", 0, true},
		{"10x", 0, true},
		{"-1", 0, true},
		{"-1s", 0, true},
		{"99999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := parseTimeout(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTimeout(%q) = %s, %v; want %s, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name                string
		env                 map[string]string
		addr                string
		read, write, handle time.Duration
		wantErr             bool
	}{
		{name: "defaults", addr: "127.0.0.1:8082", read: 10 * time.Second, write: 10 * time.Second, handle: 9 * time.Second},
		{name: "stack.yml", env: map[string]string{"PORT": "9001", "read_timeout": "15s", "write_timeout": "15s", "exec_timeout": "15s"},
			addr: "127.0.0.1:9001", read: 15 * time.Second, write: 15 * time.Second, handle: 14 * time.Second},
		{name: "smaller exec_timeout wins", env: map[string]string{"write_timeout": "120", "exec_timeout": "5s"},
			addr: "127.0.0.1:8082", read: 10 * time.Second, write: 120 * time.Second, handle: 4500 * time.Millisecond},
		{name: "exec_timeout 0 is off", env: map[string]string{"write_timeout": "2s", "exec_timeout": "0"},
			addr: "127.0.0.1:8082", read: 10 * time.Second, write: 2 * time.Second, handle: 1800 * time.Millisecond},
		{name: "write_timeout 0", env: map[string]string{"write_timeout": "0"}, wantErr: true},
		{name: "junk read_timeout", env: map[string]string{"read_timeout": "soon"}, wantErr: true},
		{name: "junk exec_timeout", env: map[string]string{"exec_timeout": "soon"}, wantErr: true},
		{name: "bad PORT", env: map[string]string{"PORT": "http"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %v", tt.env)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.addr != tt.addr || cfg.readTimeout != tt.read || cfg.writeTimeout != tt.write || cfg.handleTimeout != tt.handle {
				t.Errorf("got addr %s read %s write %s handle %s; want %s %s %s %s",
					cfg.addr, cfg.readTimeout, cfg.writeTimeout, cfg.handleTimeout, tt.addr, tt.read, tt.write, tt.handle)
			}
		})
	}
}

// TestGracefulShutdown: once the context ends (SIGTERM in main), no new
// connection is accepted, the request in flight still gets its answer, and
// serve returns nil, which main turns into exit status 0.
func TestGracefulShutdown(t *testing.T) {
	cfg, _ := testConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := newHandler(func(handler.Request) (handler.Response, error) {
		close(entered)
		<-release
		return handler.Response{Body: []byte("done")}, nil
	}, cfg)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, cfg, h) }()

	type result struct {
		body string
		err  error
	}
	answered := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			answered <- result{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- result{string(b), err}
	}()

	<-entered
	stop()
	// Poll, with a deadline, until the listener is closed.
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after shutdown began")
		}
		<-poll.C
	}
	close(release)

	if r := <-answered; r.err != nil || r.body != "done" {
		t.Errorf("request in flight: %q, %v", r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
}

func TestMetricsAddr(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		addr    string // "" is off
		wantErr bool
	}{
		{name: "in a pod: 8083 on every interface", env: map[string]string{}, addr: ":8083"},
		{name: "in a pod, PORT given as 8082", env: map[string]string{"PORT": "8082"}, addr: ":8083"},
		{name: "chosen port", env: map[string]string{"METRICS_PORT": "9100"}, addr: ":9100"},
		{name: "off", env: map[string]string{"METRICS_PORT": "off"}, addr: ""},
		{name: "0 is off", env: map[string]string{"METRICS_PORT": "0"}, addr: ""},
		{name: "local stack: another PORT, no METRICS_PORT", env: map[string]string{"PORT": "41234"}, addr: ""},
		{name: "local stack asking for one", env: map[string]string{"PORT": "41234", "METRICS_PORT": "41235"}, addr: ":41235"},
		{name: "junk", env: map[string]string{"METRICS_PORT": "prometheus"}, wantErr: true},
		{name: "out of range", env: map[string]string{"METRICS_PORT": "70000"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error for %v", tt.env)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.metricsAddr != tt.addr {
				t.Errorf("metrics address %q, want %q", cfg.metricsAddr, tt.addr)
			}
		})
	}
}

// TestMetricsListener: GET /metrics answers the Prometheus text format
// with the Go runtime metrics, other paths and methods are refused, and
// the listener closes once the context ends.
func TestMetricsListener(t *testing.T) {
	cfg, _ := testConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	stopped := make(chan struct{})
	go func() { defer close(stopped); serveMetrics(ctx, ln, cfg) }()
	base := "http://" + ln.Addr().String()

	tests := []struct {
		method, path string
		status       int
		contains     string
	}{
		{http.MethodGet, "/metrics", http.StatusOK, "go_goroutines"},
		{http.MethodGet, "/", http.StatusNotFound, ""},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, base+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
			t.Errorf("%s %s: %d, want %d with %q in:\n%.300s", tt.method, tt.path, res.StatusCode, tt.status, tt.contains, body)
		}
	}

	stop()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("metrics listener still running after the context ended")
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("metrics port still accepts connections after shutdown")
	}
}
