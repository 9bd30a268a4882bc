// Package httpx is the HTTP layer every function shares: routing over the
// OpenFaaS handler.Request by method and subpath, strict JSON decoding, and
// the one place where errors become application/problem+json answers.
package httpx

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
)

// PathHeader carries the request subpath from the template's entrypoint to
// the handler (handler.Request has no path field). The entrypoint always
// overwrites it, so callers cannot spoof it.
const PathHeader = "X-Function-Path"

// Request is what a route handler receives.
type Request struct {
	Method string
	// Path is the escaped subpath ("/" when empty), as signed by the caller.
	Path string
	// RawQuery is the query string as sent, without '?'.
	RawQuery string
	Query    url.Values
	Header   http.Header
	Body     []byte
	// Params holds the values of {name} segments of the route pattern, unescaped.
	Params map[string]string
	// App is the authenticated caller; zero for public routes.
	App auth.App
	// RequestID is the X-Request-Id of this request.
	RequestID string
}

// Param returns the value of the {name} segment.
func (r *Request) Param(name string) string { return r.Params[name] }

// HandlerFunc serves one route.
type HandlerFunc func(ctx context.Context, r *Request) (handler.Response, error)

// Access says who may call a route.
type Access struct {
	// Public routes need no signature (health, the scan trigger).
	Public bool
	// Roles lists the roles allowed; empty means any authenticated app.
	Roles []auth.Role
}

// Anyone is any authenticated app.
var Anyone = Access{}

// Public needs no authentication.
var Public = Access{Public: true}

// Roles allows the listed roles.
func Roles(roles ...auth.Role) Access { return Access{Roles: roles} }

// Allows reports whether app may call a route with this access.
func (a Access) Allows(app auth.App) bool {
	return a.Public || len(a.Roles) == 0 || app.HasRole(a.Roles...)
}

// Route is one method and path pattern. Patterns are literal segments and
// {name} placeholders matching one segment: "/cases/{serial}/events".
type Route struct {
	Method  string
	Pattern string
	Access  Access
	Handle  HandlerFunc
	// Idempotent marks POSTs that create something and so honour
	// Idempotency-Key (contract section 0). Provider callbacks, which have
	// their own notifyId/eventId idempotency, leave it off.
	Idempotent bool
	segments   []string
}

// Router matches requests to routes.
type Router struct {
	routes []*Route
}

// Handle adds a route.
func (rt *Router) Handle(method, pattern string, access Access, h HandlerFunc) *Route {
	r := &Route{Method: method, Pattern: pattern, Access: access, Handle: h,
		Idempotent: method == http.MethodPost, segments: split(pattern)}
	rt.routes = append(rt.routes, r)
	return r
}

// Get, Post, Put and Delete are Handle for one method.
func (rt *Router) Get(p string, a Access, h HandlerFunc) *Route {
	return rt.Handle(http.MethodGet, p, a, h)
}
func (rt *Router) Post(p string, a Access, h HandlerFunc) *Route {
	return rt.Handle(http.MethodPost, p, a, h)
}
func (rt *Router) Put(p string, a Access, h HandlerFunc) *Route {
	return rt.Handle(http.MethodPut, p, a, h)
}
func (rt *Router) Delete(p string, a Access, h HandlerFunc) *Route {
	return rt.Handle(http.MethodDelete, p, a, h)
}

// NotIdempotent turns Idempotency-Key handling off for a route.
func (r *Route) NotIdempotent() *Route { r.Idempotent = false; return r }

// Routes returns the routes in the order they were added.
func (rt *Router) Routes() []*Route { return rt.routes }

// Match finds the route for method and escaped path. When the path matches
// but the method does not, route is nil and allowed lists the methods that
// would match (for 405). HEAD matches GET routes.
func (rt *Router) Match(method, path string) (route *Route, params map[string]string, allowed []string) {
	segs := split(path)
	for _, r := range rt.routes {
		p, ok := r.match(segs)
		if !ok {
			continue
		}
		if r.Method == method || (method == http.MethodHead && r.Method == http.MethodGet) {
			return r, p, nil
		}
		if !slices.Contains(allowed, r.Method) {
			allowed = append(allowed, r.Method)
		}
	}
	return nil, nil, allowed
}

func (r *Route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(r.segments) {
		return nil, false
	}
	var params map[string]string
	for i, want := range r.segments {
		if strings.HasPrefix(want, "{") && strings.HasSuffix(want, "}") {
			v, err := url.PathUnescape(segs[i])
			// No record is named by bytes that are not UTF-8 or hold a
			// NUL, and PostgreSQL refuses both as text: a 404 here.
			if err != nil || v == "" || !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[want[1:len(want)-1]] = v
			continue
		}
		if segs[i] != want {
			return nil, false
		}
	}
	return params, true
}

// split turns "/a/b/" into [a b]; "/" and "" into [].
func split(path string) []string {
	path = strings.Trim(path, "/")
	if path == "" {
		return nil
	}
	return strings.Split(path, "/")
}
