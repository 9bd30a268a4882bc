// Package function is catalog-lookup: the service-item catalogue, bundles
// (一件事), business-scope entries, license types and departments (contract
// section 3). Reads come from the in-memory snapshot of shared/catalog;
// writes go through its Put functions. This file is the table of contents.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var (
	admin       = httpx.Roles(auth.RoleAdmin)
	selectingBy = httpx.Roles(auth.RolePlatform, auth.RoleAdmin)
)

var svc = service.New("catalog-lookup", func(s *service.Service, r *httpx.Router) {
	routes(r, newAPI(s))
})

// routes declares every endpoint. Literal paths come before {code} ones:
// the first matching route wins.
func routes(r *httpx.Router, a *api) {
	r.Get("/items", httpx.Anyone, listOf(a, searchItems))
	r.Get("/items/{code}", httpx.Anyone, getOne("item", a.cat.Item))
	r.Put("/items/{code}", admin, putOne(a.cat.PutItem))
	r.Get("/items/{code}/history", admin, a.history("items"))

	r.Get("/bundles", httpx.Anyone, listOf(a, searchBundles))
	r.Get("/bundles/{code}", httpx.Anyone, a.getBundle)
	r.Put("/bundles/{code}", admin, putOne(a.cat.PutBundle))
	r.Get("/bundles/{code}/history", admin, a.history("bundles"))

	r.Get("/scopes", httpx.Anyone, listOf(a, searchScopes))
	r.Get("/scopes/selection", httpx.Anyone, a.getSelection)
	r.Put("/scopes/selection", selectingBy, a.putSelection)
	r.Get("/scopes/stats", httpx.Anyone, a.scopeStats)
	r.Get("/scopes/{code}", httpx.Anyone, getOne("scope entry", a.cat.ScopeEntry))
	r.Put("/scopes/{code}", admin, putOne(a.cat.PutScopeEntry))
	r.Get("/scopes/{code}/history", admin, a.history("scopes"))

	r.Get("/license-types", httpx.Anyone, listOf(a, listLicenseTypes))
	r.Get("/license-types/{code}", httpx.Anyone, getOne("license type", a.cat.LicenseType))
	r.Put("/license-types/{code}", admin, putOne(a.cat.PutLicenseType))
	r.Get("/license-types/{code}/history", admin, a.history("license-types"))

	r.Get("/departments/{code}", admin, getOne("department", a.cat.Department))
	r.Put("/departments/{code}", admin, putOne(a.cat.PutDepartment))
	r.Get("/departments/{code}/history", admin, a.history("departments"))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
