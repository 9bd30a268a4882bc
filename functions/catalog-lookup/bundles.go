package function

import (
	"context"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// searchBundles: GET /bundles?q=&status=&limit=&cursor= (items as codes).
func (a *api) searchBundles(ctx context.Context, r *httpx.Request) (handler.Response, error) {
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
	res, err := snap.SearchBundles(catalog.BundleQuery{Q: r.Query.Get("q"), Status: st}, p)
	if err != nil {
		return handler.Response{}, err
	}
	return list(res), nil
}

// getBundle: GET /bundles/{code}, items expanded and materials merged.
func (a *api) getBundle(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	snap, err := a.cat.Snapshot(ctx)
	if err != nil {
		return handler.Response{}, err
	}
	b, ok := snap.ExpandBundle(r.Param("code"))
	if !ok {
		return handler.Response{}, notFound("bundle", r.Param("code"))
	}
	return conditional(r, b), nil
}

// putBundle: PUT /bundles/{code} (admin).
func (a *api) putBundle(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	in, err := decode[catalog.BundleInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	w, err := a.cat.PutBundle(ctx, r.App.ID, r.Param("code"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return written(w, w.Record.Version), nil
}
