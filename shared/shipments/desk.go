// Package shipments is the logistics desk (统一物流, contract section 8):
// shipments registered per case (outbound results and licenses, inbound
// paper materials), the couriers' status pushes, and notices to the
// department when a delivery fails or a parcel is returned. PostgreSQL
// holds everything; the notices go through the webhook outbox.
//
// A shipment is identified by carrier and waybill number: a waybill number
// is unique per carrier only. GET /shipments/{waybillNo} and a push that
// does not name the carrier find it by number among the carriers the
// caller may touch.
//
// Guarantees, for couriers that retry, duplicate and reorder:
//
//   - The raw body of every authenticated push is committed before it is
//     processed, and marked with its outcome in the transaction of the
//     effect (or when it is refused).
//   - Each event is stored once per (carrier, waybill, eventId), whichever
//     replica gets which copy: a transaction-scoped advisory lock on the
//     waybill number serialises everything about one number, and the
//     primary key settles the rest.
//   - A shipment's status is that of its deciding event (Current): the
//     latest, except that delivered and returned are final. It depends on
//     the set of events only, not on their order or repeats.
//   - Events of a waybill not registered yet are kept and attached when it
//     is; the lock makes a registration and a racing push see each other.
//   - A 200 comes only after the commit. After any other answer the
//     courier's retry is safe: applied if it was not, else duplicates.
package shipments

import (
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/webhook"
)

// Cases decides who may see a case; *cases.Desk is one.
type Cases interface {
	// Visible reports whether app may see the case with this serial; an
	// absent case is not visible.
	Visible(ctx context.Context, app auth.App, serial string) (bool, error)
}

// Config is what a Desk works with; all but Now are required.
type Config struct {
	DB *pgxpool.Pool
	// Cases answers who may register and read a case's shipments.
	Cases Cases
	// Outbox queues the failure and return notices to departments in the
	// transaction that records the event, and is kicked after the commit.
	Outbox *webhook.Deliverer
	// Now is the clock (recording times, the future bound on event
	// times); default time.Now.
	Now func() time.Time
}

// Desk registers shipments and takes couriers' pushes. It keeps no state
// of its own: any replica serves any request.
type Desk struct {
	db     *pgxpool.Pool
	cases  Cases
	outbox *webhook.Deliverer
	now    func() time.Time
}

// New returns a Desk over cfg (migration 0080_shipments.sql applied).
func New(cfg Config) (*Desk, error) {
	if cfg.DB == nil || cfg.Cases == nil || cfg.Outbox == nil {
		return nil, errors.New("shipments: DB, Cases and Outbox are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Desk{db: cfg.DB, cases: cfg.Cases, outbox: cfg.Outbox, now: cfg.Now}, nil
}

// waybillLockClass is the first key of the advisory locks on waybill
// numbers; two-key advisory locks do not collide with the one-key locks
// other packages take (the migrator's).
const waybillLockClass = 8080

// queueLock queues the transaction's lock on a waybill number, whatever
// the carrier. Intake and registration both take it first, so an event
// and the registration of its waybill are serialised, and so are two
// deliveries of the same push. A hash collision only serialises two
// unrelated numbers.
func queueLock(b *pgx.Batch, waybillNo string) {
	h := fnv.New32a()
	h.Write([]byte(waybillNo))
	b.Queue(`SELECT pg_advisory_xact_lock($1, $2)`, waybillLockClass, int32(h.Sum32()))
}

// mayCarry reports whether app may touch waybills of carrier: an app bound
// to no carrier may touch any; a bound one its own (carrier codes compare
// without regard to case, as they are upper-cased on input).
func mayCarry(app auth.App, carrier string) bool {
	if app.BoundTo(carrier) {
		return true
	}
	for _, c := range app.Channels {
		if strings.EqualFold(c, carrier) {
			return true
		}
	}
	return false
}

// carriersOf is the app's bound carriers in stored form (empty: any).
func carriersOf(app auth.App) []string {
	out := make([]string, 0, len(app.Channels))
	for _, c := range app.Channels {
		out = append(out, strings.ToUpper(c))
	}
	return out
}
