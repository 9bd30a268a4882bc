package function

import (
	"context"
	"log/slog"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/shipments"
)

// desk holds what the routes share for the life of the process.
type desk struct {
	shipments *shipments.Desk // nil without a database: routes answer 503
	// stop ends the catalogue's refresh and the outbox loop (tests; a
	// replica runs them until it exits).
	stop func()
}

func newService() *service.Service {
	return service.New("logistics-callback", func(s *service.Service, r *httpx.Router) {
		routes(r, newDesk(s))
	})
}

// newDesk builds the case desk (who may see a case) and the outbox (notices
// to departments) as case-submit does, and the shipments desk over them.
// The outbox loop runs here too, so a notice leaves right after its
// commit; case-submit's scheduled re-drive retries what is due.
func newDesk(s *service.Service) *desk {
	if s.DB() == nil || s.Objects() == nil {
		return &desk{}
	}
	cfg, err := cases.StandardConfig(s.DB(), s.Objects())
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	c, err := cases.New(cfg)
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	sh, err := shipments.New(shipments.Config{DB: s.DB(), Cases: c, Outbox: cfg.Outbox})
	if err != nil {
		slog.Error("shipments desk", "err", err)
		return &desk{}
	}
	// The loop lives as long as the process; what it has not delivered
	// when the replica stops is due again for the next replica or re-drive.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cfg.Outbox.Run(ctx) }()
	return &desk{shipments: sh, stop: func() { cancel(); <-done; cfg.Catalog.Close() }}
}

// ready wraps a route so that it answers 503 when the desk could not be
// built (no database or object store configured; the logs say which).
func (d *desk) ready(h httpx.HandlerFunc) httpx.HandlerFunc {
	if d.shipments != nil {
		return h
	}
	return func(context.Context, *httpx.Request) (handler.Response, error) {
		return handler.Response{}, problem.Unavailable("logistics-callback is not configured; see its logs")
	}
}
