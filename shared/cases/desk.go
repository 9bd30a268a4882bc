// Package cases is the case desk (办件, contract section 4): uploads,
// submissions of items and bundles, the lifecycle of a case, what each app
// may see of it, and its delivery to department systems through the
// webhook outbox. PostgreSQL holds every case; files live in the object
// store; deadlines come from the working-day calendar.
package cases

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/forms"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/webhook"
)

// shanghai is the zone of every calendar date (contract section 0).
var shanghai = serial.Shanghai

// Config is what a Desk works with; all but Licenses and Now are required.
type Config struct {
	DB        *pgxpool.Pool
	Catalog   *catalog.Catalog
	Objects   objects.Store
	Serials   *serial.Allocator
	Calendars *calendar.Store
	// Outbox queues deliveries to department systems in the case's
	// transaction and is woken after the commit, so departments hear of a
	// case at once rather than at the next scheduled re-drive.
	Outbox *webhook.Deliverer
	// Licenses resolves materials given as electronic licenses; without
	// it such materials are refused (license_not_found).
	Licenses Licenses
	// Payments opens a payment order when a department requests payment;
	// without it payment_requested only moves the case.
	Payments PaymentOrders
	// Extensions add to GET /cases/{serial} what other functions keep
	// about a case (its cards, payment order, shipments).
	Extensions []Extension
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Desk takes and tracks cases. It keeps no state another replica needs:
// everything it knows is in PostgreSQL and the object store.
type Desk struct {
	db         *pgxpool.Pool
	catalog    *catalog.Catalog
	objects    objects.Store
	serials    *serial.Allocator
	calendars  *calendar.Store
	outbox     *webhook.Deliverer
	licenses   Licenses
	payments   PaymentOrders
	extensions []Extension
	forms      *forms.Cache
	now        func() time.Time
}

// New returns a Desk over cfg.
func New(cfg Config) (*Desk, error) {
	if cfg.DB == nil || cfg.Catalog == nil || cfg.Objects == nil || cfg.Serials == nil || cfg.Calendars == nil || cfg.Outbox == nil {
		return nil, errors.New("cases: DB, Catalog, Objects, Serials, Calendars and Outbox are required")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Desk{
		db: cfg.DB, catalog: cfg.Catalog, objects: cfg.Objects, serials: cfg.Serials,
		calendars: cfg.Calendars, outbox: cfg.Outbox, licenses: cfg.Licenses,
		payments: cfg.Payments, extensions: cfg.Extensions,
		forms: forms.NewCache(256), now: now,
	}, nil
}

func (d *Desk) calendar(ctx context.Context) (*calendar.Calendar, error) {
	cal, err := d.calendars.Calendar(ctx)
	if err != nil {
		return nil, fmt.Errorf("working-day calendar: %w", err)
	}
	return cal, nil
}

// PaymentOrders opens payment orders (payment-callback, contract section
// 7). Open runs in the transaction that records the payment_requested
// event, so an order exists exactly when the case awaits payment.
type PaymentOrders interface {
	Open(ctx context.Context, tx pgx.Tx, r PaymentRequest) error
}

// PaymentRequest is a department's request for payment on a case.
type PaymentRequest struct {
	CaseSerial string
	Department string
	// PaymentSerial is the order's serial (channel 9, the case's region),
	// drawn by the desk before the transaction.
	PaymentSerial string
	AmountFen     int64
	// Channel is the payment channel the order is for; "" leaves it to
	// the first bound provider that notifies.
	Channel string
	At      time.Time
}

// Querier is a pool or a transaction, for reads.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Extension adds another function's records to a case view: Payment,
// Cards or Delivery.Shipments. v.Serial names the case.
type Extension interface {
	ExtendView(ctx context.Context, q Querier, v *View) error
}

// kick wakes the outbox after a commit that queued deliveries.
func (d *Desk) kick() { d.outbox.Kick() }
