package function

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
)

// These tests need no database. Requests through Handle stop at
// authentication (401) or, with no DATABASE_URL, at the 503 of a
// misconfigured function; either way a problem, never a 500.
func TestUnsignedRequestsAreProblems(t *testing.T) {
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/verify", ""},
		{"POST", "/", `{"region":"130100","channel":"online","count":1}`},
		{"GET", "/nope", ""},
	} {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req := handler.Request{
				Method:      tt.method,
				Header:      http.Header{httpx.PathHeader: {tt.path}},
				QueryString: "serial=13010012026112200000013",
				Body:        []byte(tt.body),
			}
			resp, err := Handle(req)
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if resp.StatusCode != 401 && resp.StatusCode != 503 {
				t.Fatalf("status = %d, want 401 or 503: %s", resp.StatusCode, resp.Body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var p problem.Problem
			if err := json.Unmarshal(resp.Body, &p); err != nil || p.Code == "" || p.Status != resp.StatusCode {
				t.Errorf("body = %s", resp.Body)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
		})
	}
}

func TestVerify(t *testing.T) {
	tests := []struct{ query, want string }{
		{"serial=13010012026112200000013", `{"valid":true,"region":"130100","channel":"online","date":"2026-11-22","sequence":1}`},
		{"serial=13010012026112200000014", `{"valid":false,"reason":"check_character"}`},
		{"serial=1301001", `{"valid":false,"reason":"format"}`},
		{"", `{"valid":false,"reason":"format"}`},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		resp, err := verify(context.Background(), &httpx.Request{Method: "GET", Path: "/verify", Query: q})
		if err != nil || resp.StatusCode != 200 || string(resp.Body) != tt.want {
			t.Errorf("verify ?%s = %d %s, %v; want 200 %s", tt.query, resp.StatusCode, resp.Body, err, tt.want)
		}
	}
}

// POST / validates the body before it needs the database.
func TestIssueValidatesFirst(t *testing.T) {
	is := &issuer{} // no database
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{``, 400, "invalid_json"},
		{`{"region":"130100","channel":"online","extra":1}`, 400, "invalid_json"},
		{`{"region":"990000","channel":"online","count":1}`, 422, "invalid_region"},
		{`{"region":"130100","channel":"payment","count":1}`, 422, "invalid_channel"},
		{`{"region":"130100","channel":"online","count":1001}`, 422, "invalid_count"},
		{`{"region":"130100","channel":"online","count":1.5}`, 422, "invalid_count"},
		{`{"region":"130100","channel":"online","count":1}`, 503, "dependency_unavailable"},
	}
	for _, tt := range tests {
		_, err := is.issue(context.Background(), &httpx.Request{Method: "POST", Path: "/", Body: []byte(tt.body)})
		p, ok := problem.As(err)
		if !ok || p.Status != tt.status || p.Code != tt.code {
			t.Errorf("POST %s = %v, want %d %s", strings.TrimSpace(tt.body), err, tt.status, tt.code)
		}
	}
}
