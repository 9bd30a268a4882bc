// Package function is document-fetch: attachments and electronic licenses
// (电子证照) with purpose-bound use, verification and counts (contract
// section 5).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var (
	department = httpx.Roles(auth.RoleDepartment)
	licenseUse = httpx.Roles(auth.RolePlatform, auth.RoleDepartment, auth.RoleSupervisor)
	overseers  = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin)
)

var svc = service.New("document-fetch", func(s *service.Service, r *httpx.Router) {
	r.Get("/attachments/{attachmentId}", httpx.Anyone, httpx.NotImplemented)

	r.Post("/licenses", department, httpx.NotImplemented)
	r.Get("/licenses", licenseUse, httpx.NotImplemented)
	r.Post("/licenses/verify", httpx.Anyone, httpx.NotImplemented)
	r.Get("/licenses/{licenseNo}", licenseUse, httpx.NotImplemented)
	r.Post("/licenses/{licenseNo}/revoke", department, httpx.NotImplemented)

	r.Get("/stats/issuance", overseers, httpx.NotImplemented)
	r.Get("/stats/usage", overseers, httpx.NotImplemented)
	r.Get("/materials", httpx.Roles(auth.RolePlatform), httpx.NotImplemented)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
