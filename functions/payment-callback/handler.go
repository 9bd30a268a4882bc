// Package function is payment-callback: payment orders and the payment
// providers' notifications, verified, idempotent and amount-checked
// (contract section 7).
package function

import (
	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/service"
)

var svc = service.New("payment-callback", func(s *service.Service, r *httpx.Router) {
	// Notifications are idempotent per notifyId, not per Idempotency-Key.
	r.Post("/", httpx.Roles(auth.RolePaymentProvider), httpx.NotImplemented).NotIdempotent()
	r.Get("/orders/{paymentSerial}", httpx.Anyone, httpx.NotImplemented)
	r.Get("/reconciliation", httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin), httpx.NotImplemented)
})

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }
