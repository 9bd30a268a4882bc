// Package servicetest drives a function's service in process, as the
// template's entrypoint would behind the gateway: the function handler
// tests share it.
package servicetest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/client"
	"github.com/onewindow/onewindow/shared/httpx"
)

// Signed is the request svc's Handle sees for a call signed as app (contract
// section 1) with the subpath in httpx.PathHeader; edit, when set, changes
// the headers after signing (to tamper with them).
func Signed(t testing.TB, function string, app auth.AppRecord, method, pathAndQuery, body string, edit func(http.Header)) handler.Request {
	t.Helper()
	hr, err := client.New("http://gateway", app.ID, app.Secret).
		Request(context.Background(), function, method, pathAndQuery, []byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set(httpx.PathHeader, strings.TrimPrefix(hr.URL.EscapedPath(), "/function/"+function))
	if edit != nil {
		edit(hr.Header)
	}
	return handler.Request{Method: method, Header: hr.Header, QueryString: hr.URL.RawQuery, Body: []byte(body)}
}

// Unsigned is one request without credentials: {method, path, body}.
type Unsigned [3]string

// UnsignedAreProblems sends each request to handle without credentials and
// checks it stops at authentication (401) or at the 503 of a function
// without its dependencies: a problem+json answer, never a 500.
func UnsignedAreProblems(t *testing.T, handle func(handler.Request) (handler.Response, error), reqs []Unsigned) {
	t.Helper()
	for _, r := range reqs {
		method, path, body := r[0], r[1], r[2]
		resp, err := handle(handler.Request{Method: method, Header: http.Header{httpx.PathHeader: {path}}, Body: []byte(body)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s %s = %d %s", method, path, resp.StatusCode, resp.Body)
		}
		if resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
		}
	}
}
