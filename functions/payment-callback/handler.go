// Package function is payment-callback: payment orders and the payment
// providers' notifications, verified, idempotent and amount-checked
// (contract section 7). The rules live in shared/payments; this file is the
// table of contents.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/payments"
)

var svc = newService()

func routes(r *httpx.Router, l *ledger) {
	// Notifications are idempotent per notifyId, not per Idempotency-Key.
	r.Post("/", httpx.Roles(auth.RolePaymentProvider), l.ready(l.notify)).NotIdempotent()
	// Whoever may see the order's case may read it: 404 to the others.
	r.Get("/orders/{paymentSerial}", httpx.Anyone, l.ready(l.order))
	r.Get("/reconciliation", httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin), l.ready(l.reconcile))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }

// acknowledged is the answer a provider takes as "stop retrying".
var acknowledged = map[string]string{"code": "SUCCESS"}

// notify: POST / {"notifyId","paymentSerial","amountFen","status","paidAt","providerTxnId"}
// → 200 {"code":"SUCCESS"} once the effect is committed, also for repeats.
func (l *ledger) notify(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	if _, err := l.payments.Notify(ctx, r.App, r.RequestID, r.Body); err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, acknowledged), nil
}

// order: GET /orders/{paymentSerial} → the order and its events, or 404.
func (l *ledger) order(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	v, err := l.payments.Order(ctx, r.App, r.Param("paymentSerial"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, v), nil
}

// reconcile: GET /reconciliation?date=YYYY-MM-DD&limit=&cursor= → the day's
// orders in a disagreeing state.
func (l *ledger) reconcile(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	page, err := catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
	if err != nil {
		return handler.Response{}, err
	}
	rec, err := l.payments.Reconcile(ctx, payments.ReconciliationQuery{
		Date: r.Query.Get("date"), Limit: page.Limit, Cursor: page.Cursor})
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, rec), nil
}
