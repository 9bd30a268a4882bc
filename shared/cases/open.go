package cases

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/calendar"
	"github.com/onewindow/onewindow/shared/catalog"
	"github.com/onewindow/onewindow/shared/objects"
	"github.com/onewindow/onewindow/shared/serial"
	"github.com/onewindow/onewindow/shared/webhook"
)

// StandardConfig opens what a function's desk stands on, with their
// defaults: the catalogue (loading in the background from now on), the
// serial allocator, the outbox towards the catalogue's department
// endpoints, and the working-day calendar. A function adds its seams
// (Licenses, Payments, Extensions, Now) to the Config before New, and runs
// the outbox's loop if it sends deliveries.
func StandardConfig(db *pgxpool.Pool, objs objects.Store) (Config, error) {
	cat := catalog.Open(db, catalog.Config{})
	cat.Warm()
	alloc, err := serial.NewAllocator(db, serial.Config{})
	if err != nil {
		return Config{}, fmt.Errorf("serial allocator: %w", err)
	}
	outbox, err := webhook.New(db, webhook.Config{Endpoints: cat})
	if err != nil {
		return Config{}, fmt.Errorf("webhook outbox: %w", err)
	}
	return Config{DB: db, Catalog: cat, Objects: objs, Serials: alloc, Outbox: outbox,
		Calendars: calendar.NewStore(db, calendar.StoreConfig{})}, nil
}
