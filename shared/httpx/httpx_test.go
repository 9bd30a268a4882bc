package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

func TestRouterMatch(t *testing.T) {
	var rt Router
	rt.Get("/", Anyone, NotImplemented)
	rt.Get("/scopes/selection", Anyone, NotImplemented)
	rt.Put("/scopes/{code}", Anyone, NotImplemented)
	rt.Get("/cases/{serial}", Anyone, NotImplemented)
	rt.Post("/cases/{serial}/events", Anyone, NotImplemented)

	tests := []struct {
		method, path string
		want         string // pattern, "" for no match
		params       map[string]string
		allowed      string
	}{
		{"GET", "/", "/", nil, ""},
		{"GET", "", "/", nil, ""},
		{"HEAD", "/", "/", nil, ""},
		{"GET", "/cases/13010012026112200000013", "/cases/{serial}", map[string]string{"serial": "13010012026112200000013"}, ""},
		{"GET", "/cases/13010012026112200000013/", "/cases/{serial}", map[string]string{"serial": "13010012026112200000013"}, ""},
		{"GET", "/cases/%E6%B0%91%E5%AE%BF", "/cases/{serial}", map[string]string{"serial": "民宿"}, ""},
		{"GET", "/cases/a%2Fb", "/cases/{serial}", map[string]string{"serial": "a/b"}, ""},
		{"POST", "/cases/1/events", "/cases/{serial}/events", map[string]string{"serial": "1"}, ""},
		{"GET", "/cases/1/events", "", nil, "POST"},
		{"GET", "/scopes/selection", "/scopes/selection", nil, ""},
		{"PUT", "/scopes/selection", "/scopes/{code}", map[string]string{"code": "selection"}, ""},
		{"DELETE", "/cases/1", "", nil, "GET"},
		{"GET", "/nope", "", nil, ""},
		{"GET", "/cases/%zz", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, params, allowed := rt.Match(tt.method, tt.path)
			got := ""
			if r != nil {
				got = r.Pattern
			}
			if got != tt.want {
				t.Fatalf("pattern = %q, want %q", got, tt.want)
			}
			if fmt.Sprint(params) != fmt.Sprint(tt.params) {
				t.Errorf("params = %v, want %v", params, tt.params)
			}
			if strings.Join(allowed, ",") != tt.allowed {
				t.Errorf("allowed = %v, want %q", allowed, tt.allowed)
			}
		})
	}
}

func TestAccess(t *testing.T) {
	platform := auth.App{ID: "p", Roles: []auth.Role{auth.RolePlatform}}
	tests := []struct {
		name   string
		access Access
		app    auth.App
		want   bool
	}{
		{"public", Public, auth.App{}, true},
		{"anyone", Anyone, platform, true},
		{"role listed", Roles(auth.RoleAdmin, auth.RolePlatform), platform, true},
		{"role missing", Roles(auth.RoleAdmin), platform, false},
	}
	for _, tt := range tests {
		if got := tt.access.Allows(tt.app); got != tt.want {
			t.Errorf("%s: Allows = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRoutesOfPostAreIdempotentByDefault(t *testing.T) {
	var rt Router
	if !rt.Post("/", Anyone, NotImplemented).Idempotent {
		t.Error("POST route not idempotent by default")
	}
	if rt.Post("/cb", Anyone, NotImplemented).NotIdempotent().Idempotent {
		t.Error("NotIdempotent did not turn it off")
	}
	if rt.Get("/", Anyone, NotImplemented).Idempotent {
		t.Error("GET route marked idempotent")
	}
}

func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		in  string
		key string
		dup bool
	}{
		{`{"a":1,"b":2}`, "", false},
		{`{"a":1,"a":2}`, "a", true},
		{`{"a":{"b":1},"b":{"b":2}}`, "", false},                // the same key in different objects
		{`{"a":{"b":1,"b":2}}`, "b", true},                      // nested
		{`{"a":[{"k":1},{"k":2}],"k":3}`, "", false},            // array elements are objects of their own
		{`{"a":[1,"a",{"x":1}],"b":{"a":[]},"c":1}`, "", false}, // strings in arrays are values, not keys
		{`{"a":[],"a":{}}`, "a", true},
		{`[{"a":1},{"a":1}]`, "", false},
	}
	for _, tt := range tests {
		key, dup := duplicateKey([]byte(tt.in))
		if key != tt.key || dup != tt.dup {
			t.Errorf("duplicateKey(%s) = %q, %v; want %q, %v", tt.in, key, dup, tt.key, tt.dup)
		}
	}
}

func TestDecode(t *testing.T) {
	type body struct {
		Region string `json:"region"`
		Count  int    `json:"count"`
	}
	tests := []struct {
		name, in string
		ok       bool
		detail   string
	}{
		{"valid", `{"region":"130100","count":2}`, true, ""},
		{"empty", ``, false, "required"},
		{"whitespace", "  \n", false, "required"},
		{"syntax", `{"region":`, false, "truncated"},
		{"garbage", `{]`, false, "malformed JSON"},
		{"unknown field", `{"region":"1","junk":1}`, false, `unknown field "junk"`},
		{"wrong type", `{"count":"two"}`, false, "field count"},
		{"trailing", `{"count":1} {"count":2}`, false, "after the JSON value"},
		{"array", `[1,2]`, false, "expected"},
		{"not UTF-8", "{\"region\":\"\xff\xfe\"}", false, "not valid UTF-8"},
		{"duplicate key", `{"region":"1","count":1,"region":"2"}`, false, `key "region" appears twice`},
		{"same key in sibling objects", `{"region":"1","count":1}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v body
			err := Decode([]byte(tt.in), &v)
			if tt.ok {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			p, ok := problem.As(err)
			if !ok || p.Status != 400 || p.Code != "invalid_json" {
				t.Fatalf("err = %v, want 400 invalid_json", err)
			}
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail %q does not mention %q", p.Detail, tt.detail)
			}
		})
	}
}

func FuzzDecodeNeverPanics(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":null}]}`, `"x"`, `{"region":"\u0000"}`, `[[[[[[[[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			Region string         `json:"region"`
			Form   map[string]any `json:"form"`
		}
		if err := Decode(b, &v); err != nil {
			if p, ok := problem.As(err); !ok || p.Status != 400 {
				t.Fatalf("Decode(%q) = %v, want nil or a 400 problem", b, err)
			}
		}
	})
}

func TestError(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"problem", problem.Unprocessable("invalid_region", "no such region"), 422, "invalid_region", false},
		{"wrapped problem", fmt.Errorf("issue: %w", problem.Conflict("illegal_transition", "x")), 409, "illegal_transition", false},
		{"database down", &pgconn.ConnectError{}, 503, "dependency_unavailable", true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, 503, "dependency_unavailable", true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, "dependency_unavailable", true},
		{"bug", errors.New("nil map"), 500, "internal_error", false},
		{"constraint", &pgconn.PgError{Code: "23505"}, 500, "internal_error", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := Error(ctx, "req-1", tt.err)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var p problem.Problem
			if err := json.Unmarshal(resp.Body, &p); err != nil {
				t.Fatalf("body not JSON: %v", err)
			}
			if p.Code != tt.code || p.Status != tt.status || p.Type == "" || p.Title == "" {
				t.Errorf("problem = %+v", p)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tt.retryAfter {
				t.Errorf("Retry-After present = %v, want %v", got, tt.retryAfter)
			}
			if tt.status == 500 && strings.Contains(string(resp.Body), tt.err.Error()) {
				t.Errorf("500 leaks the internal error: %s", resp.Body)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	resp := JSON(http.StatusCreated, map[string]string{"名称": "民宿一件事"})
	if resp.StatusCode != 201 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("resp = %+v", resp)
	}
	if string(resp.Body) != `{"名称":"民宿一件事"}` {
		t.Errorf("body = %s", resp.Body)
	}
}

func TestCommand(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	app := auth.App{ID: "portal"}
	h := Command(http.StatusCreated, func(_ context.Context, a auth.App, v in) (map[string]string, error) {
		if v.Name == "" {
			return nil, problem.Unprocessable("name_required", "name")
		}
		return map[string]string{"by": a.ID, "name": v.Name}, nil
	})
	resp, err := h(context.Background(), &Request{App: app, Body: []byte(`{"name":"张三"}`)})
	if err != nil || resp.StatusCode != http.StatusCreated || string(resp.Body) != `{"by":"portal","name":"张三"}` {
		t.Fatalf("answer = %d %s, %v", resp.StatusCode, resp.Body, err)
	}
	if _, err := h(context.Background(), &Request{App: app, Body: []byte(`{"name":`)}); err == nil {
		t.Error("a malformed body reached the command")
	}
	if _, err := h(context.Background(), &Request{App: app, Body: []byte(`{}`)}); err == nil {
		t.Error("the command's error was lost")
	}
}
