package function

import (
	"context"
	"net/http"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
)

// searchScopes: GET /scopes?q=&domain=&status=&limit=&cursor=
func (a *api) searchScopes(ctx context.Context, r *httpx.Request) (handler.Response, error) {
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
	res, err := snap.SearchScopes(catalog.ScopeQuery{Q: r.Query.Get("q"), Domain: r.Query.Get("domain"), Status: st}, p)
	if err != nil {
		return handler.Response{}, err
	}
	return list(res), nil
}

// getScope: GET /scopes/{code} with ETag.
func (a *api) getScope(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	e, ok, err := a.cat.ScopeEntry(ctx, r.Param("code"))
	if err != nil {
		return handler.Response{}, err
	}
	if !ok {
		return handler.Response{}, notFound("scope entry", r.Param("code"))
	}
	return conditional(r, e), nil
}

// putScope: PUT /scopes/{code} (admin).
func (a *api) putScope(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	in, err := decode[catalog.ScopeEntryInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	w, err := a.cat.PutScopeEntry(ctx, r.App.ID, r.Param("code"), in)
	if err != nil {
		return handler.Response{}, err
	}
	return written(w, w.Record.Version), nil
}

// getSelection: GET /scopes/selection?uscc= (400 invalid_uscc).
func (a *api) getSelection(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	sel, err := a.cat.Selection(ctx, r.Query.Get("uscc"))
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, sel), nil
}

// putSelection: PUT /scopes/selection?uscc= (platform, admin)
// {"entries":[{"code","expressionIds"}]}.
func (a *api) putSelection(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	uscc := r.Query.Get("uscc")
	if err := catalog.CheckUSCC(uscc); err != nil {
		return handler.Response{}, err
	}
	in, err := decode[catalog.SelectionInput](r)
	if err != nil {
		return handler.Response{}, err
	}
	sel, err := a.cat.PutSelection(ctx, r.App.ID, uscc, in)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, sel), nil
}

// scopeStats: GET /scopes/stats?month=YYYY-MM (400 invalid_month).
func (a *api) scopeStats(ctx context.Context, r *httpx.Request) (handler.Response, error) {
	month, err := catalog.ParseMonth(r.Query.Get("month"), time.Now())
	if err != nil {
		return handler.Response{}, err
	}
	st, err := a.cat.ScopeStats(ctx, month)
	if err != nil {
		return handler.Response{}, err
	}
	return httpx.JSON(http.StatusOK, st), nil
}
