package shipments

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/problem"
)

// CodeCarrierRequired is the 422 of a push that does not name its carrier
// when its app may touch shipments of several carriers with that number.
const CodeCarrierRequired = "carrier_required"

// Receipt is the answer to a push: 200 {"code":"SUCCESS","accepted","duplicates"}.
// Accepted counts events stored for the first time; Duplicates those
// already known (from an earlier push, or repeated within this one).
type Receipt struct {
	Code       string `json:"code"`
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
}

// recordTimeout bounds the bookkeeping that must happen even when the
// request's context is done (recording a refusal).
const recordTimeout = 5 * time.Second

// Receive is POST / from a courier. The raw body is committed first, so
// that what the courier sent is on record even if processing then fails
// or the process dies. The push is then parsed and applied in one
// transaction under the waybill's lock: new events are stored (a
// repeated eventId is a duplicate, also when several replicas get copies
// at once), the shipment's status moves to the deciding event, a notice
// is queued if it failed or was returned, and the notification is marked
// applied. The answer comes after the commit; any error means nothing of
// the effect was stored, and the courier retries. Events of a waybill not
// registered yet are kept and attached by Register.
//
// The carrier is the one the push names (the app must be bound to it:
// 403 otherwise), else the app's only carrier, else the carrier of the
// one registered shipment with that number the app may touch (several:
// 422 carrier_required); with none, the events are kept for whichever of
// the app's carriers registers the number.
func (d *Desk) Receive(ctx context.Context, app auth.App, requestID string, body []byte) (Receipt, error) {
	now := d.now()
	id, err := d.record(ctx, app, requestID, body, now)
	if err != nil {
		return Receipt{}, err
	}
	r, err := d.apply(ctx, app, id, body, now)
	if p, ok := problem.As(err); ok {
		d.refused(ctx, app, id, p.Code)
	}
	countDuplicates(r, err)
	return r, err
}

// record commits the raw body of a push (logistics_notifications).
func (d *Desk) record(ctx context.Context, app auth.App, requestID string, body []byte, now time.Time) (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new notification id: %w", err)
	}
	if body == nil {
		body = []byte{} // nil would be NULL
	}
	if _, err := d.db.Exec(ctx, `INSERT INTO logistics_notifications (notification_id, app_id, request_id, body, received_at)
		VALUES ($1, $2, $3, $4, $5)`, id, app.ID, cleanRequestID(requestID), body, now); err != nil {
		return uuid.Nil, fmt.Errorf("store notification: %w", err)
	}
	return id, nil
}

// refused marks a notification as refused with the problem's code. It is
// bookkeeping: a failure is logged, and the answer stands.
func (d *Desk) refused(ctx context.Context, app auth.App, id uuid.UUID, code string) {
	slog.InfoContext(ctx, "courier notification refused", "app", app.ID, "notification", id, "code", code)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, err := d.db.Exec(ctx, `UPDATE logistics_notifications SET processed_at = $2, outcome = $3
		WHERE notification_id = $1`, id, d.now(), code); err != nil {
		slog.WarnContext(ctx, "record refused courier notification", "notification", id, "err", err)
	}
}

// cleanRequestID keeps the caller's X-Request-Id to printable ASCII and
// 128 bytes, as it is stored.
func cleanRequestID(s string) string {
	out := make([]byte, 0, min(len(s), 128))
	for i := 0; i < len(s) && len(out) < 128; i++ {
		if s[i] >= 0x20 && s[i] <= 0x7e {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func (d *Desk) apply(ctx context.Context, app auth.App, id uuid.UUID, body []byte, now time.Time) (Receipt, error) {
	n, err := ParseNotification(body, now)
	if err != nil {
		return Receipt{}, err
	}
	p := pending{carrier: n.Carrier, waybillNo: n.WaybillNo, app: app, notification: id, at: now,
		events: n.Events, repeats: n.Repeats}
	switch {
	case p.carrier != "" && !mayCarry(app, p.carrier):
		return Receipt{}, problem.Newf(http.StatusForbidden, "forbidden", "this app may not report waybills of carrier %s", p.carrier)
	case p.carrier == "" && len(app.Channels) == 1:
		p.carrier = carriersOf(app)[0]
	}
	var r Receipt
	var noticed bool
	if p.carrier != "" && !mayNotice(n.Events) {
		r, err = d.applyQuietly(ctx, p)
	} else {
		r, noticed, err = d.applyInTx(ctx, p)
	}
	if err != nil {
		if _, ok := problem.As(err); ok {
			return Receipt{}, err
		}
		return Receipt{}, fmt.Errorf("apply notification for waybill %s: %w", n.WaybillNo, err)
	}
	if noticed {
		d.outbox.Kick()
	}
	return r, nil
}

// mayNotice reports whether a push could make a shipment fail or return:
// only an event of that status can become a deciding one that does.
func mayNotice(events []Event) bool {
	for _, e := range events {
		if noticeType(e.Status) != "" {
			return true
		}
	}
	return false
}

// applyQuietly applies a push of a known carrier that cannot lead to a
// notice in one round trip: the statements of one batch run in one
// implicit transaction, all or nothing, and each after the one before it
// (so after the waybill's lock, and the status sees the events stored).
func (d *Desk) applyQuietly(ctx context.Context, p pending) (Receipt, error) {
	var r Receipt
	var b pgx.Batch
	queueLock(&b, p.waybillNo)
	queueInsert(&b, p, &r)
	queueRefresh(&b, p.carrier, p.waybillNo, p.at, nil)
	if err := d.db.SendBatch(ctx, &b).Close(); err != nil {
		return Receipt{}, err
	}
	return r, nil
}

// applyInTx applies any push in a transaction: it finds the shipment
// first when the carrier is not known, and queues a notice when the
// shipment's new deciding event is a failure or a return.
func (d *Desk) applyInTx(ctx context.Context, p pending) (r Receipt, noticed bool, err error) {
	err = pgx.BeginFunc(ctx, d.db, func(tx pgx.Tx) error {
		var found []Shipment
		var b pgx.Batch
		queueLock(&b, p.waybillNo)
		b.Queue(`SELECT `+shipmentColumns+` FROM shipments WHERE waybill_no = $1`, p.waybillNo).
			Query(func(rows pgx.Rows) (err error) {
				found, err = pgx.CollectRows(rows, scanShipment)
				return err
			})
		if p.carrier != "" {
			queueInsert(&b, p, &r)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		s, carrier, err := pick(found, p.app, p.carrier)
		if err != nil {
			return err
		}
		b = pgx.Batch{}
		if p.carrier == "" {
			p.carrier, p.shipment = carrier, s
			queueInsert(&b, p, &r)
		}
		var cur *Event
		if s != nil {
			queueRefresh(&b, s.Carrier, s.WaybillNo, p.at, &cur)
		}
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return err
			}
		}
		if cur == nil {
			return nil
		}
		at := cur.At
		s.Status, s.StatusAt, s.UpdatedAt = cur.Status, &at, p.at
		noticed, err = d.notify(ctx, tx, *s, *cur)
		return err
	})
	return r, noticed, err
}

// pick finds the shipment a push is for among the registered shipments
// with its number, and the carrier its events are kept under ("" when
// unknown and nothing registered the app may touch).
func pick(found []Shipment, app auth.App, carrier string) (*Shipment, string, error) {
	if carrier != "" {
		for i := range found {
			if found[i].Carrier == carrier {
				return &found[i], carrier, nil
			}
		}
		return nil, carrier, nil
	}
	var mine *Shipment
	for i := range found {
		if !mayCarry(app, found[i].Carrier) {
			continue
		}
		if mine != nil {
			return nil, "", problem.Unprocessable(CodeCarrierRequired,
				"waybill "+found[i].WaybillNo+" is registered with several carriers: name yours in \"carrier\"")
		}
		mine = &found[i]
	}
	if mine == nil {
		return nil, "", nil
	}
	return mine, mine.Carrier, nil
}

// pending is a parsed push and where its events are stored.
type pending struct {
	carrier      string // "" when unknown
	waybillNo    string
	shipment     *Shipment // when known already; else looked up by carrier
	app          auth.App
	notification uuid.UUID
	at           time.Time
	events       []Event
	repeats      int // events repeated within the push
}

// queueInsert queues the statement that stores the events not stored
// before, marks the notification applied with its counts, and sets *r.
// The primary key decides what is new: ON CONFLICT DO NOTHING skips what
// an earlier push, or a concurrent one on another replica, stored.
// Without p.shipment, the shipment registered with p.carrier (if any) is
// looked up in the statement, which runs after the waybill's lock.
func queueInsert(b *pgx.Batch, p pending, r *Receipt) {
	n := len(p.events)
	ids, statuses, locations, descriptions := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ats := make([]time.Time, n)
	for i, e := range p.events {
		ids[i], statuses[i], ats[i], locations[i], descriptions[i] = e.EventID, string(e.Status), e.At, e.Location, e.Description
	}
	var shipmentID *uuid.UUID
	mayCarry := []string{}
	if p.shipment != nil {
		shipmentID = &p.shipment.id
	} else if p.carrier == "" {
		mayCarry = carriersOf(p.app)
	}
	b.Queue(`
		WITH stored AS (
			INSERT INTO shipment_events (carrier, waybill_no, event_id, shipment_id, may_carry, status, at,
				location, description, app_id, notification_id, received_at)
			SELECT $1, $2, e.id,
				coalesce($3::uuid, (SELECT shipment_id FROM shipments WHERE carrier = $1 AND waybill_no = $2)),
				$4, e.status, e.at, nullif(e.location, ''), nullif(e.description, ''), $5, $6, $7
			FROM unnest($8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[])
				AS e(id, status, at, location, description)
			ON CONFLICT (carrier, waybill_no, event_id) DO NOTHING
			RETURNING 1
		), counted AS (
			SELECT count(*)::int AS accepted FROM stored
		), applied AS (
			UPDATE logistics_notifications SET processed_at = $7, outcome = 'applied',
				accepted = counted.accepted, duplicates = $13 - counted.accepted
			FROM counted WHERE notification_id = $6
		)
		SELECT accepted FROM counted`,
		p.carrier, p.waybillNo, shipmentID, mayCarry, p.app.ID, p.notification, p.at,
		ids, statuses, ats, locations, descriptions, n+p.repeats).
		QueryRow(func(row pgx.Row) error {
			if err := row.Scan(&r.Accepted); err != nil {
				return err
			}
			*r = Receipt{Code: "SUCCESS", Accepted: r.Accepted, Duplicates: n + p.repeats - r.Accepted}
			return nil
		})
}
