// Package function is logistics-callback: shipments of paper materials and
// results, and the couriers' status pushes, verified, deduplicated and
// ordered (contract section 8). The rules live in shared/shipments; this
// file is the table of contents.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
)

var svc = newService()

func routes(r *httpx.Router, d *desk) {
	// Courier pushes are deduplicated per eventId, not per Idempotency-Key.
	r.Post("/", httpx.Roles(auth.RoleLogisticsProvider), d.ready(d.receive)).NotIdempotent()
	// POST /shipments → 201 the shipment with the events already received for its waybill.
	r.Post("/shipments", httpx.Roles(auth.RoleDepartment, auth.RolePlatform), d.ready(httpx.Command(http.StatusCreated, d.shipments.Register)))
	// Whoever may see the case may read its shipments: 404 to the others.
	r.Get("/shipments/{waybillNo}", httpx.Anyone, d.ready(d.get))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }

// receive: POST / → 200 {"code":"SUCCESS","accepted","duplicates"} once the
// push is durable; any other answer tells the courier to retry.
func (d *desk) receive(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	receipt, err := d.shipments.Receive(ctx, r.App, r.RequestID, r.Body)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, receipt), nil
}

// get: GET /shipments/{waybillNo}?carrier= → the shipment with its events
// in time order and its status.
func (d *desk) get(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	s, err := d.shipments.Get(ctx, r.App, r.Param("waybillNo"), r.Query.Get("carrier"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, s), nil
}
