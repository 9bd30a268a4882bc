package function

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
)

// api serves the routes over one Catalog per process.
type api struct {
	cat *catalog.Catalog
}

// newAPI opens the catalogue and starts loading it in the background, so
// that the process starts at once and the first request usually finds the
// snapshot ready.
func newAPI(s *service.Service) *api {
	cat := catalog.Open(s.DB(), catalog.Config{})
	cat.Warm()
	return &api{cat: cat}
}

// listBody is the contract's list shape.
type listBody[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

func list[T any](res catalog.Result[T]) handler.Response {
	return httpx.JSON(http.StatusOK, listBody[T]{Items: res.Items, NextCursor: res.NextCursor})
}

// conditional answers v with its ETag, or 304 with an empty body when the
// request's If-None-Match holds that tag.
func conditional(r *httpx.Request, v any) handler.Response {
	resp := httpx.JSON(http.StatusOK, v)
	etag := catalog.ETag(resp.Body)
	resp.Header.Set("ETag", etag)
	resp.Header.Set("Cache-Control", "no-cache")
	if catalog.NoneMatch(r.Header.Get("If-None-Match"), etag) {
		return handler.Response{StatusCode: http.StatusNotModified,
			Header: http.Header{"Etag": {etag}, "Cache-Control": {"no-cache"}}}
	}
	return resp
}

// written answers a PUT: 201 when it created the record, else 200, with
// the record and its ETag.
func written[T any](w catalog.Written[T]) handler.Response {
	status := http.StatusOK
	if w.Created {
		status = http.StatusCreated
	}
	resp := httpx.JSON(status, w.Record)
	resp.Header.Set("ETag", catalog.ETag(resp.Body))
	return resp
}

// getOne serves GET /{kind}/{code} for one kind of record, with ETag and
// If-None-Match; what names the kind in the 404.
func getOne[T any](what string, lookup func(ctx context.Context, code string) (T, bool, error)) httpx.HandlerFunc {
	return func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
		v, ok, err := lookup(ctx, r.Param("code"))
		if err != nil {
			return handler.Response{}, err
		}
		if !ok {
			return handler.Response{}, notFound(what, r.Param("code"))
		}
		return conditional(r, v), nil
	}
}

// putOne serves PUT /{kind}/{code} (admin) for one kind of record: the
// body decoded strictly, the write done by put as the calling app.
func putOne[In, T any](put func(ctx context.Context, by, code string, in In) (catalog.Written[T], error)) httpx.HandlerFunc {
	return func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
		var in In
		if err := r.Decode(&in); err != nil {
			return handler.Response{}, err
		}
		w, err := put(ctx, r.App.ID, r.Param("code"), in)
		if err != nil {
			return handler.Response{}, err
		}
		return written(w), nil
	}
}

// listOf serves a list or search of one kind: limit, cursor and status
// parsed here, the rest of the query read by query from the snapshot.
func listOf[T any](a *api, query func(snap *catalog.Snapshot, r *httpx.Request, st catalog.StatusFilter, p catalog.Page) (catalog.Result[T], error)) httpx.HandlerFunc {
	return func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
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
		res, err := query(snap, r, st, p)
		if err != nil {
			return handler.Response{}, err
		}
		return list(res), nil
	}
}

func notFound(what, code string) error {
	return problem.NotFound(fmt.Sprintf("no %s %s", what, code))
}

func page(r *httpx.Request) (catalog.Page, error) {
	return catalog.ParsePage(r.Query.Get("limit"), r.Query.Get("cursor"))
}

func statusFilter(r *httpx.Request) (catalog.StatusFilter, error) {
	return catalog.ParseStatusFilter(r.Query.Get("status"))
}

// historyPage: GET /{collection}/{code}/history?limit=&cursor= (admin) →
// the record's versions, newest first; the cursor is a version number.
func (a *api) history(collection string) httpx.HandlerFunc {
	return func(ctx context.Context, r *httpx.Request) (handler.Response, error) {
		p, err := page(r)
		if err != nil {
			return handler.Response{}, err
		}
		before := 0
		if c := r.Query.Get("cursor"); c != "" {
			if before, err = strconv.Atoi(c); err != nil || before < 2 {
				return handler.Response{}, problem.BadRequest("invalid_cursor", "cursor is not one this list returned")
			}
		}
		limit := p.Limit
		if limit == 0 {
			limit = catalog.DefaultLimit
		}
		versions, err := a.cat.History(ctx, collection, r.Param("code"), before, limit+1)
		if err != nil {
			return handler.Response{}, err
		}
		if len(versions) == 0 && before == 0 {
			return handler.Response{}, notFound("record", r.Param("code"))
		}
		body := listBody[catalog.HistoryEntry]{Items: versions}
		if len(versions) > limit {
			body.Items = versions[:limit]
			body.NextCursor = strconv.Itoa(versions[limit-1].Version)
		}
		return httpx.JSON(http.StatusOK, body), nil
	}
}
