package service

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/config"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/testenv"
)

var testApps = []auth.AppRecord{
	{ID: "portal", Secret: "portal-secret-0123456789", Roles: []auth.Role{auth.RolePlatform}},
	{ID: "courier", Secret: "courier-secret-0123456789", Roles: []auth.Role{auth.RoleLogisticsProvider}},
}

// newTestService is a function called "demo" with a create route that
// counts its runs, a read route and a public route, over a fresh database.
func newTestService(t *testing.T) (*Service, *atomic.Int32) {
	t.Helper()
	var creates atomic.Int32
	s := NewWithConfig(config.Config{Function: "demo", DatabaseURL: testenv.DatabaseURL(t), DBMaxConns: 4,
		Objects: config.ObjectStore{Driver: "minio"}}, func(s *Service, r *httpx.Router) {
		r.Post("/things", httpx.Roles(auth.RolePlatform), func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
			n := creates.Add(1)
			time.Sleep(50 * time.Millisecond) // a slow create, so that a racing twin arrives while it is in flight
			return httpx.JSON(http.StatusCreated, map[string]any{"n": n, "app": r.App.ID}), nil
		})
		r.Get("/things/{id}", httpx.Anyone, func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
			return httpx.JSON(http.StatusOK, map[string]string{"id": r.Param("id")}), nil
		})
		r.Post("/", httpx.Public, func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
			return httpx.JSON(http.StatusOK, map[string]int{"scanned": 0}), nil
		})
	})
	t.Cleanup(func() { s.DB().Close() })
	if err := s.ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := auth.SaveApps(context.Background(), s.DB(), testApps); err != nil {
		t.Fatal(err)
	}
	return s, &creates
}

// request builds the handler.Request the template entrypoint would pass,
// signed as app (empty for none).
func request(t *testing.T, app auth.AppRecord, method, pathAndQuery string, body []byte, edit func(http.Header)) handler.Request {
	t.Helper()
	c := client.New("http://gateway", app.ID, app.Secret)
	hr, err := c.Request(context.Background(), "demo", method, pathAndQuery, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if app.ID == "" {
		for _, h := range []string{auth.HeaderAppID, auth.HeaderTimestamp, auth.HeaderNonce, auth.HeaderSignature} {
			hr.Header.Del(h)
		}
	}
	hr.Header.Set(httpx.PathHeader, hr.URL.EscapedPath()[len("/function/demo"):])
	if edit != nil {
		edit(hr.Header)
	}
	return handler.Request{Method: method, Header: hr.Header, QueryString: hr.URL.RawQuery, Body: body}
}

func problemOf(t *testing.T, resp handler.Response) problem.Problem {
	t.Helper()
	var p problem.Problem
	if resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("Content-Type = %q, body %s", resp.Header.Get("Content-Type"), resp.Body)
	}
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		t.Fatalf("problem body %s: %v", resp.Body, err)
	}
	return p
}

// Every 401 and 403 code of contract section 1, through the whole service.
func TestAuthentication(t *testing.T) {
	s, _ := newTestService(t)
	portal, courier := testApps[0], testApps[1]
	stale := func(h http.Header) {
		h.Set(auth.HeaderTimestamp, strconv.FormatInt(time.Now().Add(-10*time.Minute).Unix(), 10))
	}
	tests := []struct {
		name   string
		req    handler.Request
		status int
		code   string
	}{
		{"unsigned", request(t, auth.AppRecord{}, "GET", "/things/1", nil, nil), 401, auth.CodeMissingCredentials},
		{"unsigned unknown path", request(t, auth.AppRecord{}, "GET", "/nope", nil, nil), 401, auth.CodeMissingCredentials},
		{"unknown app", request(t, auth.AppRecord{ID: "stranger", Secret: "stranger-secret-0123"}, "GET", "/things/1", nil, nil), 401, auth.CodeInvalidSignature},
		{"wrong secret", request(t, auth.AppRecord{ID: "portal", Secret: "not-the-secret-0123"}, "GET", "/things/1", nil, nil), 401, auth.CodeInvalidSignature},
		{"stale timestamp", request(t, portal, "GET", "/things/1", nil, stale), 401, auth.CodeInvalidSignature}, // the signature covers the timestamp
		{"wrong role", request(t, courier, "POST", "/things", []byte(`{}`), nil), 403, "forbidden"},
		{"signed unknown path", request(t, portal, "GET", "/nope", nil, nil), 404, "not_found"},
		{"wrong method", request(t, portal, "DELETE", "/things/1", nil, nil), 405, "method_not_allowed"},
		{"public", request(t, auth.AppRecord{}, "POST", "/", nil, nil), 200, ""},
		{"signed read", request(t, courier, "GET", "/things/%E6%B0%91", nil, nil), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.Handle(tt.req)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, resp.Body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if tt.code != "" {
				if p := problemOf(t, resp); p.Code != tt.code || p.Status != tt.status {
					t.Errorf("problem = %+v, want code %s", p, tt.code)
				}
			}
		})
	}

	// A stale timestamp signed as such.
	c := client.New("http://gateway", portal.ID, portal.Secret)
	c.Now = func() time.Time { return time.Now().Add(-6 * time.Minute) }
	hr, _ := c.Request(context.Background(), "demo", "GET", "/things/1", nil, nil)
	hr.Header.Set(httpx.PathHeader, "/things/1")
	resp := s.Handle(handler.Request{Method: "GET", Header: hr.Header})
	if p := problemOf(t, resp); resp.StatusCode != 401 || p.Code != auth.CodeStaleTimestamp {
		t.Errorf("stale: %d %s", resp.StatusCode, resp.Body)
	}

	// The same POST twice: the second is a replay.
	req := request(t, portal, "POST", "/things", []byte(`{}`), nil)
	if resp := s.Handle(req); resp.StatusCode != 201 {
		t.Fatalf("first POST = %d %s", resp.StatusCode, resp.Body)
	}
	resp = s.Handle(req)
	if p := problemOf(t, resp); resp.StatusCode != 401 || p.Code != auth.CodeReplayedRequest {
		t.Errorf("replayed POST = %d %s", resp.StatusCode, resp.Body)
	}
}

// Two requests with one Idempotency-Key race (two replicas of the
// function): one create, both get the same answer, the second marked
// Idempotent-Replayed. The same key with another body is 409.
func TestIdempotencyRace(t *testing.T) {
	s, creates := newTestService(t)
	twin := NewWithConfig(s.Config, func(_ *Service, r *httpx.Router) {
		r.Handle("POST", "/things", httpx.Anyone, s.router.Routes()[0].Handle)
	})
	t.Cleanup(func() { twin.DB().Close() })
	portal := testApps[0]
	key := func(h http.Header) { h.Set("Idempotency-Key", "order-42") }
	body := []byte(`{"name":"a"}`)
	reqs := []handler.Request{request(t, portal, "POST", "/things", body, key), request(t, portal, "POST", "/things", body, key)}
	resps := make([]handler.Response, 2)
	var wg sync.WaitGroup
	for i, svc := range []*Service{s, twin} {
		wg.Go(func() { resps[i] = svc.Handle(reqs[i]) })
	}
	wg.Wait()
	if creates.Load() != 1 {
		t.Fatalf("%d creates, want 1", creates.Load())
	}
	replays := 0
	for i, r := range resps {
		if r.StatusCode != 201 || string(r.Body) != string(resps[0].Body) {
			t.Errorf("request %d = %d %s, want 201 %s", i, r.StatusCode, r.Body, resps[0].Body)
		}
		if r.Header.Get("Idempotent-Replayed") == "true" {
			replays++
		}
	}
	if replays != 1 {
		t.Errorf("%d answers marked Idempotent-Replayed, want 1", replays)
	}
	resp := s.Handle(request(t, portal, "POST", "/things", []byte(`{"name":"b"}`), key))
	if p := problemOf(t, resp); resp.StatusCode != 409 || p.Code != "idempotency_key_reused" {
		t.Errorf("reused key = %d %s", resp.StatusCode, resp.Body)
	}
	resp = s.Handle(request(t, portal, "POST", "/things", body, func(h http.Header) { h.Set("Idempotency-Key", ""); h["Idempotency-Key"] = []string{"bad\x01key"} }))
	if p := problemOf(t, resp); resp.StatusCode != 400 || p.Code != "invalid_idempotency_key" {
		t.Errorf("malformed key = %d %s", resp.StatusCode, resp.Body)
	}
}

// Without a database the function still answers, with 503 problems.
func TestMisconfiguredAnswers503(t *testing.T) {
	s := NewWithConfig(config.Config{Function: "demo", DBMaxConns: 4, Objects: config.ObjectStore{Driver: "minio"}},
		func(*Service, *httpx.Router) {})
	resp := s.Handle(request(t, testApps[0], "GET", "/x", nil, nil))
	if p := problemOf(t, resp); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || p.Code != "misconfigured" {
		t.Fatalf("= %d %v %s", resp.StatusCode, resp.Header, resp.Body)
	}
}
