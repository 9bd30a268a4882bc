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
func searchScopes(snap *catalog.Snapshot, r *httpx.Request, st catalog.StatusFilter, p catalog.Page) (catalog.Result[*catalog.ScopeEntry], error) {
	return snap.SearchScopes(catalog.ScopeQuery{Q: r.Query.Get("q"), Domain: r.Query.Get("domain"), Status: st}, p)
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
	var in catalog.SelectionInput
	if err := r.Decode(&in); err != nil {
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
