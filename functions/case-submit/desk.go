package function

import (
	"context"
	"log/slog"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/cards"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/licenses"
	"github.com/onewindow/onewindow/shared/metrics"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/shipments"
	"github.com/onewindow/onewindow/shared/webhook"
)

// desk holds what the routes share for the life of the process.
type desk struct {
	cases  *cases.Desk        // nil without a database: the service answers 503 before routes run
	outbox *webhook.Deliverer // delivers to department systems
}

// redriveBatch bounds the work of one scheduled re-drive, so that a
// backlog is worked off over several runs rather than past the timeout.
const redriveBatch = 500

func newService() *service.Service {
	return service.New("case-submit", func(s *service.Service, r *httpx.Router) {
		routes(r, newDesk(s))
	})
}

// newDesk builds the case desk with the card board, payment orders,
// licenses and shipments as its seams, and starts the outbox loop that
// delivers right after each commit.
func newDesk(s *service.Service) *desk {
	if s.DB() == nil || s.Objects() == nil {
		return &desk{}
	}
	cfg, err := cases.StandardConfig(s.DB(), s.Objects())
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	board, err := cards.New(cards.Config{DB: s.DB(), Calendars: cfg.Calendars, Outbox: cfg.Outbox})
	if err != nil {
		slog.Error("card board", "err", err)
		return &desk{}
	}
	orders := payments.NewOrders(nil)
	cfg.Licenses, cfg.Payments = licenses.ForCases(s.DB()), orders
	cfg.Extensions = []cases.Extension{board, orders, shipments.ViewExtension()}
	c, err := cases.New(cfg)
	if err != nil {
		slog.Error("case desk", "err", err)
		return &desk{}
	}
	// The loop lives as long as the process; what it has not delivered
	// when the replica stops is due again for the next replica or re-drive.
	go cfg.Outbox.Run(context.Background())
	metrics.Register(cfg.Serials.Collector(), cfg.Outbox.Collector())
	return &desk{cases: c, outbox: cfg.Outbox}
}

// ready wraps a route so that it answers 503 when the desk could not be
// built (no database or object store configured; the logs say which).
func (d *desk) ready(h httpx.HandlerFunc) httpx.HandlerFunc {
	if d.cases != nil {
		return h
	}
	return func(context.Context, *httpx.Request) (handler.Response, error) {
		return handler.Response{}, problem.Unavailable("case-submit is not configured; see its logs")
	}
}

// redriveReport is the answer to the scheduled trigger: counts only.
type redriveReport struct {
	Delivered    int `json:"delivered"`
	Retried      int `json:"retried"`
	Failed       int `json:"failed"`
	SweptUploads int `json:"sweptUploads"`
}

func (d *desk) redriveDue(ctx context.Context) (redriveReport, error) {
	counts, err := d.outbox.RunDue(ctx, redriveBatch)
	if err != nil {
		return redriveReport{}, err
	}
	swept, err := d.cases.SweepUploads(ctx, redriveBatch)
	if err != nil {
		return redriveReport{}, err
	}
	return redriveReport{Delivered: counts.Delivered, Retried: counts.Retried, Failed: counts.Failed, SweptUploads: swept}, nil
}
