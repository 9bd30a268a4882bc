package function

import (
	"context"
	"log/slog"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
)

// desk holds what the routes share for the life of the process. Both are
// nil without a database or object store: routes then answer 503.
type desk struct {
	cases    *cases.Desk        // visibility, attachments, history materials, upload checks
	licenses *licenses.Registry // electronic licenses
	// expiry is how long presigned URLs live; 0 is the contract's 300 s.
	expiry time.Duration
}

func newService() *service.Service {
	return service.New("document-fetch", func(s *service.Service, r *httpx.Router) {
		routes(r, newDesk(s, licenses.Config{}))
	})
}

// newDesk builds the case desk as case-submit does, for reading: this
// function submits nothing and posts no events, so its outbox is never
// run (case-submit delivers). cfg is completed with the dependencies;
// tests set its clock and URL expiry.
func newDesk(s *service.Service, cfg licenses.Config) *desk {
	if s.DB() == nil || s.Objects() == nil {
		return &desk{}
	}
	deskCfg, err := cases.StandardConfig(s.DB(), s.Objects())
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	deskCfg.Now = cfg.Now
	c, err := cases.New(deskCfg)
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	cfg.DB, cfg.Catalog, cfg.Objects, cfg.Cases = s.DB(), deskCfg.Catalog, s.Objects(), c
	reg, err := licenses.New(cfg)
	if err != nil {
		slog.Error("license registry", "err", err)
		return &desk{}
	}
	return &desk{cases: c, licenses: reg, expiry: cfg.URLExpiry}
}

// ready wraps a route so that it answers 503 when the desk could not be
// built (no database or object store configured; the logs say which).
func (d *desk) ready(h httpx.HandlerFunc) httpx.HandlerFunc {
	if d.cases != nil {
		return h
	}
	return func(context.Context, *httpx.Request) (handler.Response, error) {
		return handler.Response{}, problem.Unavailable("document-fetch is not configured; see its logs")
	}
}
