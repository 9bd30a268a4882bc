package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
)

// outcome is one request of a load loop.
type outcome struct {
	start   time.Time
	status  int
	err     error
	pid     int    // the answering process (200)
	version string // its executable's name (200)
	failPid int    // the replica a 502 names
	code    string // the problem code of a non-200
}

// load sends requests in a loop from several goroutines until stopped.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	all  []outcome
}

func startLoad(s *stack, workers int, method, path, body string) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				o := outcome{start: time.Now()}
				r := do(client, method, s.url+path, body, http.Header{"Content-Type": {"application/json"}})
				o.status, o.err = r.status, r.err
				if r.err == nil && r.status == http.StatusOK {
					var a struct {
						Pid     int    `json:"pid"`
						Version string `json:"version"`
					}
					_ = json.Unmarshal(r.body, &a)
					o.pid, o.version = a.Pid, a.Version
				} else if r.err == nil {
					var p problem
					_ = json.Unmarshal(r.body, &p)
					o.failPid, o.code = p.Pid, p.Code
				}
				l.mu.Lock()
				l.all = append(l.all, o)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// answeredBy reports whether a request was answered by pid.
func (l *load) answeredBy(pid int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.all {
		if o.pid == pid {
			return true
		}
	}
	return false
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.all)
}

// finish stops the loop and returns every outcome.
func (l *load) finish() []outcome {
	close(l.stop)
	l.wg.Wait()
	return l.all
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// A replica killed with SIGKILL is restarted while the others serve. GETs
// never fail (they are retried on another replica); a POST fails only if
// it was in flight on the dead replica, and then with a 502 naming it.
func TestKilledReplicaIsRestartedWhileOthersServe(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 3})
	pids := map[int]int{} // pid -> replica
	for i := range 3 {
		pids[s.pid(t, "fn-a", i)] = i
	}
	gets := startLoad(s, 3, http.MethodGet, "/function/fn-a/x?y=1", "")
	posts := startLoad(s, 3, http.MethodPost, "/function/fn-a/x", `{"a":1}`)

	// A POST in flight on the replica about to die.
	hung := make(chan reply, 1)
	go func() { hung <- do(http.DefaultClient, http.MethodPost, s.url+"/function/fn-a/hang", `{"b":2}`, nil) }()
	var victim int
	until(t, "the hanging request reached a replica", func() bool {
		marks, _ := filepath.Glob(filepath.Join(s.markDir, "hang-*"))
		if len(marks) == 1 {
			victim, _ = strconv.Atoi(strings.TrimPrefix(filepath.Base(marks[0]), "hang-"))
		}
		return victim != 0
	})
	replica, ok := pids[victim]
	if !ok {
		t.Fatalf("pid %d is not a replica: %v", victim, pids)
	}

	mark := s.ev.Mark()
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.ev.Wait(t, mark, "the victim exited", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventExited && ev.Pid == victim
	})
	back := s.ev.Wait(t, mark, "the replica is back", func(ev supervisor.Event) bool {
		return ev.Kind == supervisor.EventHealthy && ev.Replica == replica
	})
	until(t, "the restarted replica serves GETs and POSTs", func() bool {
		return gets.answeredBy(back.Pid) && posts.answeredBy(back.Pid)
	})
	getOut, postOut := gets.finish(), posts.finish()

	h := <-hung
	if h.err != nil || h.status != http.StatusBadGateway {
		t.Fatalf("the request in flight on the killed replica: %d %v %s", h.status, h.err, h.body)
	}
	if p := h.problem(t); p.Code != "upstream_failed" || p.Pid != victim || p.Replica != fmt.Sprintf("fn-a-%d", replica) {
		t.Errorf("its problem: %+v", p)
	}
	for _, o := range getOut {
		if o.err != nil || o.status != http.StatusOK {
			t.Errorf("GET failed during the crash: %+v", o)
		}
	}
	failed := 0
	for _, o := range postOut {
		switch {
		case o.err == nil && o.status == http.StatusOK:
		case o.err == nil && o.status == http.StatusBadGateway && o.code == "upstream_failed" && o.failPid == victim:
			failed++ // in flight on the victim when it died: may have run, not re-sent
		default:
			t.Errorf("POST failed other than in flight on the killed replica: %+v", o)
		}
	}
	t.Logf("%d GETs, %d POSTs (%d in flight on the killed replica)", len(getOut), len(postOut), failed)
	if st, _ := s.sup.Status("fn-a"); st.Available != 3 || st.Instances[replica].Restarts != 1 {
		t.Errorf("status after the restart: %+v", st)
	}
}

// A redeploy under load drops nothing: the old generation finishes the
// requests it was given (even a slow POST), every request sent after the
// swap reaches the new one, and the old processes are gone when the PUT
// returns.
func TestRedeploySwapsWithoutDroppingRequests(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 2})
	old := []int{s.pid(t, "fn-a", 0), s.pid(t, "fn-a", 1)}
	v2 := filepath.Join(t.TempDir(), "v2")
	if err := os.Symlink(fakeBinary(), v2); err != nil {
		t.Fatal(err)
	}
	var builds atomic.Int32
	s.build = func(ctx context.Context, fn string) (string, error) {
		builds.Add(1)
		if fn != "fn-a" {
			return "", fmt.Errorf("asked to build %q", fn)
		}
		return v2, nil
	}

	gets := startLoad(s, 3, http.MethodGet, "/function/fn-a/slow?ms=5", "")
	posts := startLoad(s, 3, http.MethodPost, "/function/fn-a/slow?ms=5", `{"a":1}`)
	until(t, "load is flowing", func() bool { return gets.count() > 10 && posts.count() > 10 })
	// A slow POST in flight on the old generation during the swap.
	slow := make(chan reply, 1)
	go func() {
		slow <- do(http.DefaultClient, http.MethodPost, s.url+"/function/fn-a/slow?ms=1500&mark", `{"slow":true}`, nil)
	}()
	until(t, "the slow POST is in flight", func() bool {
		marks, _ := filepath.Glob(filepath.Join(s.markDir, "slow-*"))
		return len(marks) == 1
	})

	r := s.send(t, http.MethodPut, "/system/functions", `{"service":"fn-a","image":"ignored"}`)
	swapped := time.Now()
	if r.status != http.StatusOK {
		t.Fatalf("PUT /system/functions: %d %s", r.status, r.body)
	}
	var res gateway.UpdateResult
	if err := json.Unmarshal(r.body, &res); err != nil || res.Generation != 2 || res.Replicas != 2 || res.Binary != v2 {
		t.Errorf("update result %+v (%v)", res, err)
	}
	until(t, "load after the swap", func() bool {
		return gets.count() > 0 && countAfter(gets, swapped) > 10 && countAfter(posts, swapped) > 10
	})
	all := append(gets.finish(), posts.finish()...)

	versions := map[string]int{}
	for _, o := range all {
		if o.err != nil || o.status != http.StatusOK {
			t.Errorf("request failed during the swap: %+v", o)
			continue
		}
		versions[o.version]++
		if o.start.After(swapped) && o.version != "v2" {
			t.Errorf("a request sent after the swap reached %q (pid %d)", o.version, o.pid)
		}
	}
	if versions["v2"] == 0 || len(versions) != 2 {
		t.Errorf("versions seen: %v", versions)
	}
	sl := <-slow
	if sl.status != http.StatusOK || sl.answer(t).Version == "v2" {
		t.Errorf("the slow POST in flight during the swap: %d %s", sl.status, sl.body)
	}
	for _, pid := range old {
		if alive(pid) {
			t.Errorf("old pid %d still runs after the swap", pid)
		}
	}
	if builds.Load() != 1 {
		t.Errorf("%d builds", builds.Load())
	}
	var st gateway.FunctionStatus
	_ = json.Unmarshal(s.get(t, "/system/function/fn-a").body, &st)
	if st.Local.Generation != 2 || st.EnvProcess != v2 || st.AvailableReplicas != 2 {
		t.Errorf("status after the swap: %+v", st)
	}
	t.Logf("%d requests during the swap: %v", len(all), versions)
}

func countAfter(l *load, t time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, o := range l.all {
		if o.start.After(t) {
			n++
		}
	}
	return n
}

func TestRedeployFailuresKeepTheOldGeneration(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1})
	pid := s.pid(t, "fn-a", 0)
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		body   string
		build  func(context.Context, string) (string, error)
		status int
		code   string
		detail string
	}{
		{"build fails", `{"service":"fn-a"}`, func(context.Context, string) (string, error) {
			return "", errors.New("compile: build.sh: exit status 1; its output ends:\nhandler.go:3:1: syntax error")
		}, 400, "build_failed", "handler.go:3:1: syntax error"},
		{"new replicas never healthy", `{"service":"fn-a"}`, func(context.Context, string) (string, error) {
			return broken, nil
		}, 500, "deploy_failed", "generation 1 keeps serving"},
		{"unknown function", `{"service":"nope"}`, nil, 404, "function_not_found", "nope"},
		{"no service", `{}`, nil, 404, "function_not_found", ""},
		{"not json", `{`, nil, 400, "invalid_body", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.build = tc.build
			r := s.send(t, http.MethodPut, "/system/functions", tc.body)
			p := r.problem(t)
			if r.status != tc.status || p.Code != tc.code || !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("%d %s, want %d %s with %q", r.status, r.body, tc.status, tc.code, tc.detail)
			}
			if got := s.get(t, "/function/fn-a/").answer(t).Pid; got != pid {
				t.Errorf("served by %d, want the old %d", got, pid)
			}
		})
	}
}

// stubBackend serves fixed endpoints, for the retry rules.
type stubBackend struct{ eps []*supervisor.Endpoint }

func (b *stubBackend) Endpoints(string) []*supervisor.Endpoint { return b.eps }
func (b *stubBackend) Status(fn string) (supervisor.Status, bool) {
	return supervisor.Status{Name: fn, Replicas: len(b.eps), Available: len(b.eps)}, true
}
func (b *stubBackend) Scale(string, int) error { return errors.New("not here") }
func (b *stubBackend) Swap(context.Context, string, string) error {
	return errors.New("not here")
}

// countingServer answers 200 "live" and counts requests and body bytes.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		_, _ = io.WriteString(w, "live")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// cuttingServer reads each request whole and closes the connection
// without answering, as a replica dying mid-request does.
func cuttingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// deadAddr is a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func stubGateway(t *testing.T, eps ...*supervisor.Endpoint) string {
	gw, err := gateway.New(gateway.Config{
		Functions: map[string]stackfile.Function{"fn": {Name: "fn"}},
		Backend:   &stubBackend{eps: eps},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestRetryRules(t *testing.T) {
	live, liveN := countingServer(t)
	cut, cutN := cuttingServer(t)
	dead := deadAddr(t)
	addr := func(srv *httptest.Server) string { return strings.TrimPrefix(srv.URL, "http://") }
	body := strings.Repeat("b", 10<<10)

	for _, tc := range []struct {
		name     string
		eps      []string // the replicas, in rotation order
		method   string
		body     string
		wantOK   int // of 4 requests, how many get 200
		wantLive int // and how many reached the live replica
		wantCut  int // and the cutting one
	}{
		// Never connected: always safe to send elsewhere.
		{"POST, refused connection", []string{dead, addr(live)}, http.MethodPost, body, 4, 4, 0},
		{"GET, refused connection", []string{dead, addr(live)}, http.MethodGet, "", 4, 4, 0},
		{"PUT without body, refused connection", []string{dead, addr(live)}, http.MethodPut, "", 4, 4, 0},
		// Reached a replica that died before answering: only GET and
		// HEAD are sent again; the others fail with 502.
		{"POST, died mid-request", []string{addr(cut), addr(live)}, http.MethodPost, body, 2, 2, 2},
		{"DELETE, died mid-request", []string{addr(cut), addr(live)}, http.MethodDelete, "", 2, 2, 2},
		{"GET, died mid-request", []string{addr(cut), addr(live)}, http.MethodGet, "", 4, 4, 2},
		{"HEAD, died mid-request", []string{addr(cut), addr(live)}, http.MethodHead, "", 4, 4, 2},
		// Nowhere to go.
		{"POST, only a dead replica", []string{dead}, http.MethodPost, body, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var eps []*supervisor.Endpoint
			for _, a := range tc.eps {
				eps = append(eps, supervisor.NewEndpoint("fn", a))
			}
			url := stubGateway(t, eps...)
			liveN.Store(0)
			cutN.Store(0)
			ok := 0
			for range 4 {
				r := do(http.DefaultClient, tc.method, url+"/function/fn/x", tc.body, nil)
				switch {
				case r.err != nil:
					t.Fatal(r.err)
				case r.status == http.StatusOK:
					ok++
				case r.status == http.StatusBadGateway:
					if tc.method != http.MethodHead && r.problem(t).Code != "upstream_failed" {
						t.Errorf("502 body %s", r.body)
					}
				default:
					t.Errorf("status %d: %s", r.status, r.body)
				}
			}
			if ok != tc.wantOK || int(liveN.Load()) != tc.wantLive || int(cutN.Load()) != tc.wantCut {
				t.Errorf("%d OK, %d reached live, %d reached cut; want %d, %d, %d",
					ok, liveN.Load(), cutN.Load(), tc.wantOK, tc.wantLive, tc.wantCut)
			}
		})
	}

	t.Run("no replica", func(t *testing.T) {
		r := do(http.DefaultClient, http.MethodGet, stubGateway(t)+"/function/fn/", "", nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || r.problem(t).Code != "function_unavailable" {
			t.Errorf("%d %v %s", r.status, r.header, r.body)
		}
	})
}
