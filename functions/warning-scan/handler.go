// Package function is warning-scan: time-limit supervision with yellow, red
// and black cards over working-day calendars, fired by a cron schedule
// (contract section 6).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var (
	overseers = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin)
	cardReads = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin, auth.RoleDepartment)
)

var svc = service.New("warning-scan", func(s *service.Service, r *httpx.Router) {
	// cron-connector invokes the scan through the gateway with an empty body
	// and no signature; it answers counts only.
	r.Post("/", httpx.Public, httpx.NotImplemented)

	r.Get("/calendar/{year}", httpx.Anyone, httpx.NotImplemented)
	r.Put("/calendar/{year}", httpx.Roles(auth.RoleAdmin), httpx.NotImplemented)

	r.Get("/cards", cardReads, httpx.NotImplemented)
	r.Post("/cards/{cardId}/revocation", httpx.Roles(auth.RoleDepartment), httpx.NotImplemented)
	r.Post("/cards/{cardId}/revocation/decision", httpx.Roles(auth.RoleSupervisor), httpx.NotImplemented)

	r.Get("/stats", overseers, httpx.NotImplemented)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
