package localstack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/stackfile"
	"github.com/onewindow/onewindow/infra/supervisor"
)

// fakeBackend stands for the supervisor: one function with one replica.
type fakeBackend struct{ scaled map[string]int }

func (f *fakeBackend) Endpoints(fn string) []*supervisor.Endpoint {
	return []*supervisor.Endpoint{supervisor.NewEndpoint(fn, "127.0.0.1:1")}
}
func (f *fakeBackend) Status(fn string) (supervisor.Status, bool) {
	return supervisor.Status{Name: fn, Replicas: 1, Available: 1}, fn == "serial-issue"
}
func (f *fakeBackend) Scale(fn string, n int) error               { f.scaled[fn] = n; return nil }
func (f *fakeBackend) Swap(context.Context, string, string) error { return nil }

func TestWithBenchUpstream(t *testing.T) {
	stack := map[string]stackfile.Function{"serial-issue": {Name: "serial-issue"}}
	for _, tc := range []struct {
		name, spec, wantErr string
		wantExtra           string // the added function, "" for none
	}{
		{"unset: stack.yml's functions only", "", "", ""},
		{"a loopback upstream", "bench-baseline=127.0.0.1:4567", "", "bench-baseline"},
		{"IPv6 loopback", "bare=[::1]:4567", "", "bare"},
		{"no name", "=127.0.0.1:4567", "want name=host:port", ""},
		{"no address", "bench-baseline", "want name=host:port", ""},
		{"a function of stack.yml", "serial-issue=127.0.0.1:4567", "is a function of stack.yml", ""},
		{"not loopback", "bench-baseline=10.0.0.1:4567", "not a loopback", ""},
		{"a host name", "bench-baseline=localhost:4567", "not a loopback", ""},
		{"no port", "bench-baseline=127.0.0.1", "address", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sup := &fakeBackend{scaled: map[string]int{}}
			fns, backend, err := withBenchUpstream(stack, sup, tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(stack) != 1 {
				t.Errorf("stack.yml's map was modified: %v", stack)
			}
			if eps := backend.Endpoints("serial-issue"); len(eps) != 1 || eps[0].Addr != "127.0.0.1:1" {
				t.Errorf("serial-issue's endpoints %v, want the supervisor's", eps)
			}
			if tc.wantExtra == "" {
				if len(fns) != 1 {
					t.Errorf("functions %v, want stack.yml's only", fns)
				}
				return
			}
			if _, ok := fns[tc.wantExtra]; !ok || len(fns) != 2 {
				t.Fatalf("functions %v, want serial-issue and %s", fns, tc.wantExtra)
			}
			_, addr, _ := strings.Cut(tc.spec, "=")
			if eps := backend.Endpoints(tc.wantExtra); len(eps) != 1 || eps[0].Addr != addr {
				t.Errorf("%s's endpoints %v, want %s", tc.wantExtra, eps, addr)
			}
			if st, ok := backend.Status(tc.wantExtra); !ok || st.Available != 1 {
				t.Errorf("%s's status %+v %v, want one available replica", tc.wantExtra, st, ok)
			}
			if err := backend.Scale(tc.wantExtra, 3); err == nil {
				t.Errorf("scaling %s to 3 succeeded", tc.wantExtra)
			}
			if err := backend.Scale("serial-issue", 3); err != nil || sup.scaled["serial-issue"] != 3 {
				t.Errorf("scaling serial-issue: %v, supervisor saw %v", err, sup.scaled)
			}
			if err := backend.Swap(context.Background(), tc.wantExtra, "/bin/true"); err == nil {
				t.Errorf("swapping %s succeeded", tc.wantExtra)
			}
		})
	}
}

// TestBenchUpstreamThroughGateway sends a request through a gateway that
// knows the upstream only from BenchUpstreamEnv's value, as the bench
// stack's does, and checks that it reaches the server with the subpath.
func TestBenchUpstreamThroughGateway(t *testing.T) {
	var got atomic.Value
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.RequestURI())
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	defer upstream.Close()
	addr := strings.TrimPrefix(upstream.URL, "http://")
	fns, backend, err := withBenchUpstream(map[string]stackfile.Function{"serial-issue": {Name: "serial-issue"}},
		&fakeBackend{scaled: map[string]int{}}, "bench-baseline="+addr)
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Functions: fns, Backend: backend})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	for _, tc := range []struct {
		path, wantStatus string
		wantURI          string // what the upstream saw; "" when it must see nothing new
	}{
		{"/function/bench-baseline/", "200 OK", "/"},
		{"/function/bench-baseline/x?q=1", "200 OK", "/x?q=1"},
		{"/function/not-a-function/", "404 Not Found", ""},
	} {
		got.Store("")
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Status != tc.wantStatus || got.Load() != tc.wantURI {
			t.Errorf("GET %s: %s, upstream saw %q; want %s and %q", tc.path, resp.Status, got.Load(), tc.wantStatus, tc.wantURI)
		}
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz %s with the upstream added, want 200", resp.Status)
	}
}
