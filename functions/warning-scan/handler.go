// Package function is warning-scan: time-limit supervision with yellow, red
// and black cards over working-day calendars, fired by a cron schedule
// (contract section 6). The rules live in shared/cards and shared/calendar;
// this file is the table of contents.
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var (
	admin     = httpx.Roles(auth.RoleAdmin)
	overseers = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin)
	cardReads = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin, auth.RoleDepartment)
)

var svc = service.New("warning-scan", func(s *service.Service, r *httpx.Router) {
	routes(r, newSupervision(s))
})

func routes(r *httpx.Router, s *supervision) {
	// cron-connector invokes the scan through the gateway with an empty body
	// and no signature; it answers counts only.
	r.Post("/", httpx.Public, s.ready(s.scan))

	r.Get("/calendar/{year}", httpx.Anyone, s.ready(s.getCalendar))
	r.Put("/calendar/{year}", admin, s.ready(s.putCalendar))

	r.Get("/cards", cardReads, s.ready(s.listCards))
	r.Post("/cards/{cardId}/revocation", httpx.Roles(auth.RoleDepartment), s.ready(s.requestRevocation)).NotIdempotent()
	r.Post("/cards/{cardId}/revocation/decision", httpx.Roles(auth.RoleSupervisor), s.ready(s.decideRevocation)).NotIdempotent()

	r.Get("/stats", overseers, s.ready(s.stats))

	r.Get("/thresholds/{scope}/{code}", overseers, s.ready(s.getThreshold))
	r.Put("/thresholds/{scope}/{code}", admin, s.ready(s.putThreshold))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
