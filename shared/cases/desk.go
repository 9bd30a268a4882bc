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
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Desk takes and tracks cases. It keeps no state another replica needs:
// everything it knows is in PostgreSQL and the object store.
type Desk struct {
	db        *pgxpool.Pool
	catalog   *catalog.Catalog
	objects   objects.Store
	serials   *serial.Allocator
	calendars *calendar.Store
	outbox    *webhook.Deliverer
	licenses  Licenses
	forms     *forms.Cache
	now       func() time.Time
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

// kick wakes the outbox after a commit that queued deliveries.
func (d *Desk) kick() { d.outbox.Kick() }
