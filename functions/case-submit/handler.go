// Package function is case-submit: applications (办件) for a service item or
// a bundle, their attachments, lifecycle and delivery to department systems
// (contract section 4). The rules live in shared/cases; this file is the
// table of contents.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// Visibility of a single case (submitter, its department, supervisors,
// admins) is decided per record, so reads admit any app and answer 404 to
// those who may not see it.
var applicants = httpx.Roles(auth.RolePlatform, auth.RoleDepartment)

var svc = newService()

func routes(r *httpx.Router, d *desk) {
	r.Post("/", httpx.Public, d.ready(d.redrive))
	// POST /uploads → 201 {"uploadId","putUrl","expiresAt","headers"};
	// POST /cases → 201 {"caseId","serial","status","deadlines","children"}.
	r.Post("/uploads", applicants, d.ready(httpx.Command(http.StatusCreated, d.cases.NewUpload)))
	r.Post("/cases", applicants, d.ready(httpx.Command(http.StatusCreated, d.cases.Submit)))
	r.Get("/cases", httpx.Anyone, d.ready(d.list))
	r.Get("/cases/{serial}", httpx.Anyone, d.ready(d.get))
	r.Post("/cases/{serial}/events", applicants, d.ready(d.post))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }

// list: GET /cases?applicant=&status=&limit=&cursor= → the app's own cases.
func (d *desk) list(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	page, err := catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
	if err != nil {
		return handler.Response{}, err
	}
	res, err := d.cases.List(ctx, r.App, cases.ListQuery{
		Applicant: r.Query.Get("applicant"), Status: cases.Status(r.Query.Get("status")),
		Limit: page.Limit, Cursor: page.Cursor,
	})
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, res), nil
}

// get: GET /cases/{serial} → the case as the caller may see it, or 404.
func (d *desk) get(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	v, err := d.cases.Get(ctx, r.App, r.Param("serial"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, v), nil
}

// post: POST /cases/{serial}/events → 201 with the case's new status.
func (d *desk) post(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in cases.EventInput
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	receipt, err := d.cases.Post(ctx, r.App, r.Param("serial"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusCreated, receipt), nil
}

// redrive: POST / from the cron-connector (unauthenticated, empty body):
// delivers what is due to department systems and sweeps stale uploads,
// answering only counts.
func (d *desk) redrive(ctx context.Context, _ *httpx.Request) (handler.Response, error) {
	report, err := d.redriveDue(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, report), nil
}
