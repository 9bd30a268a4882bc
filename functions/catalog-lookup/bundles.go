package function

import (
	"context"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// searchBundles: GET /bundles?q=&status=&limit=&cursor= (items as codes).
func searchBundles(snap *catalog.Snapshot, r *httpx.Request, st catalog.StatusFilter, p catalog.Page) (catalog.Result[*catalog.Bundle], error) {
	return snap.SearchBundles(catalog.BundleQuery{Q: r.Query.Get("q"), Status: st}, p)
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
