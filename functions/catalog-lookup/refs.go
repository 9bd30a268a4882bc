package function

import (
	"context"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// listLicenseTypes: GET /license-types?department=&status=&limit=&cursor=
func (a *api) listLicenseTypes(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	p, err := page(r)
	if err != nil {
		return handler.Response{}, err
	}
	st, err := statusFilter(r)
	if err != nil {
		return handler.Response{}, err
	}
	snap, err := a.cat.Snapshot(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	res, err := snap.LicenseTypes(catalog.LicenseTypeQuery{Department: r.Query.Get("department"), Status: st}, p)
	if err != nil {
		return handler.Response{}, err
	}
	return list(res), nil
}

// getLicenseType: GET /license-types/{code} with ETag.
func (a *api) getLicenseType(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	lt, ok, err := a.cat.LicenseType(ctx, r.Param("code"))
	if err != nil {
		return handler.Response{}, err
	}
	if !ok {
		return handler.Response{}, notFound("license type", r.Param("code"))
	}
	return conditional(r, lt), nil
}

// putLicenseType: PUT /license-types/{code} (admin).
func (a *api) putLicenseType(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	in, err := decode[catalog.LicenseTypeInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	w, err := a.cat.PutLicenseType(ctx, r.App.ID, r.Param("code"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return written(w, w.Record.Version), nil
}

// getDepartment: GET /departments/{code} (admin), without the webhook
// secret (webhookSecretSet says whether one is set).
func (a *api) getDepartment(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	d, ok, err := a.cat.Department(ctx, r.Param("code"))
	if err != nil {
		return handler.Response{}, err
	}
	if !ok {
		return handler.Response{}, notFound("department", r.Param("code"))
	}
	return conditional(r, d), nil
}

// putDepartment: PUT /departments/{code} (admin); webhookSecret is
// write-only.
func (a *api) putDepartment(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	in, err := decode[catalog.DepartmentInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	w, err := a.cat.PutDepartment(ctx, r.App.ID, r.Param("code"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return written(w, w.Record.Version), nil
}
