package gateway_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/onewindow/onewindow/infra/gateway"
	"github.com/onewindow/onewindow/infra/supervisor"
)

func TestInvokeRoutesSubpathAndQueryExactly(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1})
	for _, tc := range []struct {
		target string // as sent to the gateway
		want   string // request target the function sees
	}{
		{"/function/fn-a", "/"},
		{"/function/fn-a/", "/"},
		{"/function/fn-a?x=1", "/?x=1"},
		{"/function/fn-a/?x=1", "/?x=1"},
		{"/function/fn-a/cases/123?x=1", "/cases/123?x=1"},
		{"/function/fn-a/cases/13010012026112200000013/events", "/cases/13010012026112200000013/events"},
		// Escapes, odd but legal characters and unparseable query
		// parameters reach the function as sent: signatures cover them.
		{"/function/fn-a/a%2Fb/%41?q=a%20b&q=%E6%B0%91&x=%zz;y=1", "/a%2Fb/%41?q=a%20b&q=%E6%B0%91&x=%zz;y=1"},
		{"/function/fn-a/items?q=%E6%B0%91%E5%AE%BF&limit=5", "/items?q=%E6%B0%91%E5%AE%BF&limit=5"},
		{"/function/fn-a/x/../y", "/x/../y"},
		{"/function/fn-a//double//slash", "//double//slash"},
		{"/function/fn-a/a[1]!$&'()*+,;=:@b", "/a[1]!$&'()*+,;=:@b"},
		{"/function/fn-a/t?", "/t?"}, // even an empty query, as sent
	} {
		t.Run(tc.target, func(t *testing.T) {
			r := s.raw(t, http.MethodGet, tc.target, nil)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if got := r.answer(t).RequestURI; got != tc.want {
				t.Errorf("function saw %q, want %q", got, tc.want)
			}
		})
	}
}

func TestInvokePassesMethodBodyAndRequestID(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1})
	body := strings.Repeat("x", 300<<10)
	r := do(http.DefaultClient, http.MethodPut, s.url+"/function/fn-a/items/1", body,
		http.Header{"X-Request-Id": {"req-123"}, "Content-Type": {"application/json"}})
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("status %d, err %v: %s", r.status, r.err, r.body)
	}
	a := r.answer(t)
	if a.Method != http.MethodPut || a.BodyBytes != len(body) || a.RequestID != "req-123" || a.Function != "fn-a" {
		t.Errorf("function saw %+v", a)
	}
	if got := r.header.Get("X-Request-Id"); got != "req-123" {
		t.Errorf("X-Request-Id %q", got)
	}
	// Without one, the gateway makes one up and the function sees it.
	r = s.get(t, "/function/fn-a/")
	if id := r.answer(t).RequestID; id == "" || id != r.header.Get("X-Request-Id") {
		t.Errorf("request id %q, response header %q", id, r.header.Get("X-Request-Id"))
	}
}

func TestInvokeUnknownFunction(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1})
	for _, target := range []string{"/function/nope", "/function/nope/x?y=1", "/function/", "/function//x", "/function/FN-A"} {
		r := s.raw(t, http.MethodPost, target, http.Header{"X-Request-Id": {"rid-1"}})
		if r.status != http.StatusNotFound {
			t.Errorf("%s: status %d", target, r.status)
			continue
		}
		if p := r.problem(t); p.Code != "function_not_found" || p.Status != 404 {
			t.Errorf("%s: %+v", target, p)
		}
		if got := r.header.Get("X-Request-Id"); got != "rid-1" {
			t.Errorf("%s: X-Request-Id %q", target, got)
		}
	}
}

func TestRoundRobin(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 3})
	counts := map[int]int{}
	for range 30 {
		counts[s.get(t, "/function/fn-a/").answer(t).Pid]++
	}
	if len(counts) != 3 {
		t.Fatalf("answers came from %d processes, want 3: %v", len(counts), counts)
	}
	for i := range 3 {
		if n := counts[s.pid(t, "fn-a", i)]; n != 10 {
			t.Errorf("replica %d answered %d of 30: %v", i, n, counts)
		}
	}
}

func TestListFunctions(t *testing.T) {
	s := newStack(t,
		fakeFn{name: "fn-a", replicas: 2, labels: map[string]string{"com.openfaas.scale.min": "2"}},
		fakeFn{name: "scan", replicas: 1, annots: map[string]string{"topic": "cron-function", "schedule": "*/5 * * * *"}},
	)
	s.get(t, "/function/fn-a/")
	s.get(t, "/function/fn-a/")
	s.raw(t, http.MethodGet, "/function/nope", nil) // not counted anywhere

	r := s.get(t, "/system/functions")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d %s: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var list []gateway.FunctionStatus
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "fn-a" || list[1].Name != "scan" {
		t.Fatalf("list: %+v", list)
	}
	a, scan := list[0], list[1]
	if a.Replicas != 2 || a.AvailableReplicas != 2 || a.InvocationCount != 2 || a.Labels["com.openfaas.scale.min"] != "2" ||
		a.Image != "example/fn-a:latest" || a.EnvVars["write_timeout"] != "5s" || a.Local.Generation != 1 ||
		len(a.Local.Instances) != 2 || a.Local.Instances[1].Pid != s.pid(t, "fn-a", 1) || a.CreatedAt.IsZero() {
		t.Errorf("fn-a: %+v", a)
	}
	if scan.Annotations["topic"] != "cron-function" || scan.Annotations["schedule"] != "*/5 * * * *" ||
		scan.Labels == nil || scan.InvocationCount != 0 {
		t.Errorf("scan: %+v", scan)
	}
	// Labels and annotations are always objects, never null.
	var rawList []map[string]json.RawMessage
	_ = json.Unmarshal(r.body, &rawList)
	if string(rawList[0]["annotations"]) != "{}" {
		t.Errorf("fn-a annotations: %s", rawList[0]["annotations"])
	}

	var one gateway.FunctionStatus
	if r := s.get(t, "/system/function/scan"); r.status != http.StatusOK || json.Unmarshal(r.body, &one) != nil || one.Name != "scan" {
		t.Errorf("GET /system/function/scan: %d %s", r.status, r.body)
	}
	if r := s.get(t, "/system/function/nope"); r.status != http.StatusNotFound || r.problem(t).Code != "function_not_found" {
		t.Errorf("GET /system/function/nope: %d %s", r.status, r.body)
	}
}

func TestScaleFunction(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1, labels: map[string]string{"com.openfaas.scale.max": "3"}})

	for _, tc := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/system/scale-function/nope", `{"replicas":1}`, 404, "function_not_found"},
		{"/system/scale-function/fn-a", `{"replicas":4}`, 400, "replicas_out_of_range"},
		{"/system/scale-function/fn-a", `{"replicas":-1}`, 400, "invalid_body"},
		{"/system/scale-function/fn-a", `{}`, 400, "invalid_body"},
		{"/system/scale-function/fn-a", `{"serviceName":"other","replicas":2}`, 400, "invalid_body"},
		{"/system/scale-function/fn-a", `not json`, 400, "invalid_body"},
	} {
		r := s.send(t, http.MethodPost, tc.path, tc.body)
		if r.status != tc.status || r.problem(t).Code != tc.code {
			t.Errorf("POST %s %s: %d %s, want %d %s", tc.path, tc.body, r.status, r.body, tc.status, tc.code)
		}
	}

	mark := s.ev.Mark()
	if r := s.send(t, http.MethodPost, "/system/scale-function/fn-a", `{"serviceName":"fn-a","replicas":3}`); r.status != http.StatusAccepted {
		t.Fatalf("scale to 3: %d %s", r.status, r.body)
	}
	s.ev.WaitN(t, mark, "fn-a", supervisor.EventHealthy, 2)
	var st gateway.FunctionStatus
	_ = json.Unmarshal(s.get(t, "/system/function/fn-a").body, &st)
	if st.Replicas != 3 || st.AvailableReplicas != 3 {
		t.Errorf("after scaling to 3: %d/%d", st.AvailableReplicas, st.Replicas)
	}
	pids := map[int]bool{}
	for range 3 {
		pids[s.get(t, "/function/fn-a").answer(t).Pid] = true
	}
	if len(pids) != 3 {
		t.Errorf("3 requests reached %d replicas", len(pids))
	}

	// Scaled to zero: 503 with Retry-After, and /healthz does not hold it
	// against the stack.
	if r := s.send(t, http.MethodPost, "/system/scale-function/fn-a", `{"replicas":0}`); r.status != http.StatusAccepted {
		t.Fatalf("scale to 0: %d %s", r.status, r.body)
	}
	r := s.get(t, "/function/fn-a/x")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.problem(t).Code != "function_unavailable" {
		t.Errorf("scaled to 0: %d %v %s", r.status, r.header, r.body)
	}
	if r := s.get(t, "/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz with a function scaled to 0: %d %s", r.status, r.body)
	}
}

func TestHealthz(t *testing.T) {
	s := newStack(t,
		fakeFn{name: "fn-a", replicas: 1},
		fakeFn{name: "fn-b", replicas: 1, notAdded: true},
	)
	r := s.get(t, "/healthz")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("healthz before fn-b runs: %d %s", r.status, r.body)
	}
	if p := r.problem(t); len(p.Unhealthy) != 1 || p.Unhealthy[0] != "fn-b" {
		t.Errorf("unhealthy: %v", p.Unhealthy)
	}

	mark := s.ev.Mark()
	if err := s.sup.Add(supervisor.Spec{Name: "fn-b", Binary: fakeBinary(), Env: fakeEnv("fn-b"), Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	s.ev.WaitN(t, mark, "fn-b", supervisor.EventHealthy, 1)
	if r := s.get(t, "/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz with both up: %d %s", r.status, r.body)
	}
}

func TestUnknownSystemEndpoint(t *testing.T) {
	s := newStack(t, fakeFn{name: "fn-a", replicas: 1})
	if r := s.get(t, "/system/nope"); r.status != http.StatusNotFound || r.problem(t).Code != "not_found" {
		t.Errorf("%d %s", r.status, r.body)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:8080", false, true},
		{"127.0.0.2:8080", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{"0.0.0.0:8080", false, false},
		{":8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"0.0.0.0:8080", true, true},
		{"127.0.0.1", false, false}, // no port
	} {
		if err := gateway.CheckLoopback(tc.addr, tc.allowRemote); (err == nil) != tc.ok {
			t.Errorf("CheckLoopback(%q, %v) = %v", tc.addr, tc.allowRemote, err)
		}
	}
}
