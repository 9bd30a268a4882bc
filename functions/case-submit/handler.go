// Package function is case-submit: applications (办件) for a service item or
// a bundle, their attachments, lifecycle and delivery to department systems
// (contract section 4).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

// Visibility of a single case (submitter, its department, supervisors,
// admins) is decided per record, so reads admit any app and answer 404 to
// those who may not see it.
var applicants = httpx.Roles(auth.RolePlatform, auth.RoleDepartment)

var svc = service.New("case-submit", func(s *service.Service, r *httpx.Router) {
	r.Post("/uploads", applicants, httpx.NotImplemented)
	r.Post("/cases", applicants, httpx.NotImplemented)
	r.Get("/cases", httpx.Anyone, httpx.NotImplemented)
	r.Get("/cases/{serial}", httpx.Anyone, httpx.NotImplemented)
	r.Post("/cases/{serial}/events", applicants, httpx.NotImplemented)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
