package function

import (
	"context"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// searchItems: GET /items?q=&department=&region=&kind=&status=&limit=&cursor=
func (a *api) searchItems(ctx context.Context, r *httpx.Request) (handler.Response, error) {
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
	res, err := snap.SearchItems(catalog.ItemQuery{Q: r.Query.Get("q"), Department: r.Query.Get("department"),
		Region: r.Query.Get("region"), Kind: r.Query.Get("kind"), Status: st}, p)
	if err != nil {
		return handler.Response{}, err
	}
	return list(res), nil
}

// getItem: GET /items/{code} with ETag and If-None-Match.
func (a *api) getItem(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	it, ok, err := a.cat.Item(ctx, r.Param("code"))
	if err != nil {
		return handler.Response{}, err
	}
	if !ok {
		return handler.Response{}, notFound("item", r.Param("code"))
	}
	return conditional(r, it), nil
}

// putItem: PUT /items/{code} (admin) upserts the item.
func (a *api) putItem(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	in, err := decode[catalog.ItemInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	w, err := a.cat.PutItem(ctx, r.App.ID, r.Param("code"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return written(w, w.Record.Version), nil
}
