// Package function is logistics-callback: shipments of paper materials and
// results, and the couriers' status pushes, verified, deduplicated and
// ordered (contract section 8).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var svc = service.New("logistics-callback", func(s *service.Service, r *httpx.Router) {
	// Courier pushes are deduplicated per eventId, not per Idempotency-Key.
	r.Post("/", httpx.Roles(auth.RoleLogisticsProvider), httpx.NotImplemented).NotIdempotent()
	r.Post("/shipments", httpx.Roles(auth.RoleDepartment, auth.RolePlatform), httpx.NotImplemented)
	r.Get("/shipments/{waybillNo}", httpx.Anyone, httpx.NotImplemented)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
