// Package function is document-fetch: attachments and electronic licenses
// (电子证照) with purpose-bound use, verification and counts (contract
// section 5). The rules live in shared/licenses and shared/cases; this
// file is the table of contents.
package function

import (
	"context"
	"net/http"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/problem"
)

// Who calls what. Attachments admit any app and answer 404 to those who
// may not see the case; issuing and revoking are further limited to apps
// acting for the license type's department (403).
var (
	department = httpx.Roles(auth.RoleDepartment)
	licenseUse = httpx.Roles(auth.RolePlatform, auth.RoleDepartment, auth.RoleSupervisor)
	overseers  = httpx.Roles(auth.RoleSupervisor, auth.RoleAdmin)
	platform   = httpx.Roles(auth.RolePlatform)
)

var svc = newService()

// routes declares every endpoint. Literal paths come before {licenseNo}
// ones: the first matching route wins.
func routes(r *httpx.Router, d *desk) {
	r.Get("/attachments/{attachmentId}", httpx.Anyone, d.ready(d.attachment))

	// POST /licenses → 201 the license (409 license_exists); /licenses/batch
	// → 200 with one result per entry: created, exists or invalid.
	r.Post("/licenses", department, d.ready(httpx.Command(http.StatusCreated, d.licenses.Issue)))
	r.Post("/licenses/batch", department, d.ready(httpx.Command(http.StatusOK, d.licenses.IssueBatch)))
	r.Get("/licenses", licenseUse, d.ready(d.list))
	r.Post("/licenses/verify", httpx.Anyone, d.ready(d.verify)).NotIdempotent()
	r.Get("/licenses/{licenseNo}", licenseUse, d.ready(d.license))
	r.Post("/licenses/{licenseNo}/revoke", department, d.ready(d.revoke))

	r.Get("/stats/issuance", overseers, d.ready(d.issuance))
	r.Get("/stats/usage", overseers, d.ready(d.usage))
	r.Get("/materials", platform, d.ready(d.materials))
}

// Handle is the OpenFaaS entry point.
func Handle(req handler.Request) (handler.Response, error) { return svc.Handle(req), nil }

// attachment: GET /attachments/{attachmentId} → a presigned GET (≤ 300 s)
// and the file's description; every fetch logged.
func (d *desk) attachment(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	dl, err := d.cases.FetchAttachment(ctx, r.App, r.Param("attachmentId"), d.expiry)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, dl), nil
}

// list: GET /licenses?holderId=&typeCode=&purpose=&limit=&cursor= → the
// holder's licenses; one use recorded per license answered.
func (d *desk) list(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	page, err := catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
	if err != nil {
		return handler.Response{}, err
	}
	res, err := d.licenses.List(ctx, r.App, licenses.ListQuery{
		HolderID: r.Query.Get("holderId"), TypeCode: r.Query.Get("typeCode"), Purpose: r.Query.Get("purpose"),
		Limit: page.Limit, Cursor: page.Cursor,
	})
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, res), nil
}

// license: GET /licenses/{licenseNo}?purpose= → the license with a
// presigned url of its file; the use recorded first.
func (d *desk) license(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	l, err := d.licenses.Use(ctx, r.App, r.Param("licenseNo"), r.Query.Get("purpose"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, l), nil
}

// verify: POST /licenses/verify {"licenseNo","holderId","sha256"} →
// {"valid","status"}.
func (d *desk) verify(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in licenses.VerifyInput
	if err := r.Decode(&in); err != nil {
		return handler.Response{}, err
	}
	v, err := d.licenses.Verify(ctx, in)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, v), nil
}

// revoke: POST /licenses/{licenseNo}/revoke [{"reason"}] → the license,
// status revoked.
func (d *desk) revoke(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	var in licenses.RevokeInput
	if len(r.Body) > 0 {
		if err := r.Decode(&in); err != nil {
			return handler.Response{}, err
		}
	}
	l, err := d.licenses.Revoke(ctx, r.App, r.Param("licenseNo"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, l), nil
}

// issuance and usage: GET /stats/issuance|usage?from=&to=&groupBy= →
// {"items":[{"key","name","count"}],"total",...}.
func (d *desk) issuance(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	return statsOf(ctx, r, d.licenses.Issuance)
}

func (d *desk) usage(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	return statsOf(ctx, r, d.licenses.Usage)
}

func statsOf(ctx context.Context, r *httpx.Request, count func(context.Context, licenses.StatsQuery) (licenses.Stats, error)) (handler.Response, error) {
	s, err := count(ctx, licenses.StatsQuery{From: r.Query.Get("from"), To: r.Query.Get("to"), GroupBy: r.Query.Get("groupBy")})
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, s), nil
}

// materialList is the answer to GET /materials.
type materialList struct {
	Items []cases.HistoryMaterial `json:"items"`
}

// materials: GET /materials?holderId=&limit= → the holder's files from
// this app's earlier cases (历史材料), each usable as {"code","historyOf"}.
// The case desk's History serves case-submit's historyOf check too.
func (d *desk) materials(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	page, err := catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
	if err != nil {
		return handler.Response{}, err
	}
	if page.Cursor != "" { // History answers one page, newest first, and hands out no cursors
		return handler.Response{}, problem.BadRequest("invalid_cursor", "cursor is not one this list handed out")
	}
	holder := r.Query.Get("holderId")
	if holder == "" {
		var v problem.Validation
		v.Add("holderId", cases.CodeRequired, "holderId is required")
		return handler.Response{}, v.Err()
	}
	limit := page.Limit
	if limit == 0 {
		limit = catalog.DefaultLimit
	}
	items, err := d.cases.History(ctx, r.App, holder, limit)
	if err != nil {
		return handler.Response{}, err
	}
	if items == nil {
		items = []cases.HistoryMaterial{}
	}
	return httpx.JSON(http.StatusOK, materialList{Items: items}), nil
}
