package function

import (
	"context"
	"errors"
	"log/slog"
	"time"

	handler "github.com/openfaas/templates-sdk/go-http"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/payments"
	"github.com/onewindow/onewindow/shared/problem"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/service"
	"github.com/onewindow/onewindow/shared/webhook"
)

// ledger holds what the routes share for the life of the process.
type ledger struct {
	payments *payments.Ledger // nil without a database: the service answers 503 before routes run
}

func newService() *service.Service {
	return service.New("payment-callback", func(s *service.Service, r *httpx.Router) {
		routes(r, newLedger(s, payments.Config{}))
	})
}

// newLedger builds the case desk that records paid events and decides who
// may see an order, and the payment ledger over it; cfg is completed with
// the database and the desk.
//
// The desk is built as case-submit builds it, with two differences that
// suit a callback replica (128 MiB, a few connections):
//   - the catalogue is opened but never loaded: recording paid and deciding
//     visibility read cases only;
//   - the webhook outbox is not run here. The paid event's delivery to the
//     department is queued in the notification's transaction and sent by
//     case-submit's delivery loop (within its 2 s poll) or its scheduled
//     re-drive, as any other delivery whose sender stopped. Running the
//     loop here would load the whole catalogue for department endpoints.
func newLedger(s *service.Service, cfg payments.Config) *ledger {
	if s.DB() == nil || s.Objects() == nil {
		return &ledger{}
	}
	calendars := calendar.NewStore(s.DB(), calendar.StoreConfig{Now: cfg.Now})
	desk, err := newDesk(s, calendars, cfg.Now)
	if err != nil {
		slog.Error("case desk", "err", err)
		return &ledger{}
	}
	cfg.DB, cfg.Cases = s.DB(), desk
	// Recording paid reads the calendar through the pool: have it loaded
	// before the notification's transaction takes a connection.
	cfg.Warm = func(ctx context.Context) error { _, err := calendars.Calendar(ctx); return err }
	l, err := payments.New(cfg)
	if err != nil {
		slog.Error("payment ledger", "err", err)
		return &ledger{}
	}
	return &ledger{payments: l}
}

// errNoDelivery answers the outbox should anything here ever try to send:
// payment-callback only queues deliveries.
var errNoDelivery = errors.New("payment-callback queues deliveries; case-submit sends them")

func newDesk(s *service.Service, calendars *calendar.Store, now func() time.Time) (*cases.Desk, error) {
	alloc, err := serial.NewAllocator(s.DB(), serial.Config{}) // required by the desk; draws nothing here
	if err != nil {
		return nil, err
	}
	outbox, err := webhook.New(s.DB(), webhook.Config{Now: now, Endpoints: webhook.EndpointFunc(
		func(context.Context, string) (string, string, error) { return "", "", errNoDelivery })})
	if err != nil {
		return nil, err
	}
	return cases.New(cases.Config{
		DB: s.DB(), Catalog: catalog.Open(s.DB(), catalog.Config{}), Objects: s.Objects(), Serials: alloc,
		Calendars: calendars, Outbox: outbox, Now: now,
	})
}

// ready wraps a route so that it answers 503 when the ledger could not be
// built (no database or object store configured; the logs say which).
func (l *ledger) ready(h httpx.HandlerFunc) httpx.HandlerFunc {
	if l.payments != nil {
		return h
	}
	return func(context.Context, *httpx.Request) (handler.Response, error) {
		return handler.Response{}, problem.Unavailable("payment-callback is not configured; see its logs")
	}
}
