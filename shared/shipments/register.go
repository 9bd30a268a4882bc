package shipments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/httpx"
	"github.com/onewindow/onewindow/shared/idempotency"
	"github.com/onewindow/onewindow/shared/problem"
)

// CodeShipmentExists is the 409 for a waybill already registered with its
// carrier (by any case).
const CodeShipmentExists = "shipment_exists"

// Register is POST /shipments: it ties a waybill to a case the app may see
// (404 otherwise), attaches the events couriers already sent for it, sets
// its status from them, and queues a notice if that status is a failure
// or a return, all in one transaction under the waybill's lock. The 201
// answer is stored for the request's Idempotency-Key in the same
// transaction.
func (d *Desk) Register(ctx context.Context, app auth.App, in Registration) (Shipment, error) {
	if err := in.check(); err != nil {
		return Shipment{}, err
	}
	ok, err := d.cases.Visible(ctx, app, in.CaseSerial)
	if err != nil {
		return Shipment{}, fmt.Errorf("check case visibility: %w", err)
	}
	if !ok {
		return Shipment{}, problem.NotFound("no case " + in.CaseSerial)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Shipment{}, fmt.Errorf("new shipment id: %w", err)
	}
	now := d.now().Truncate(time.Microsecond) // as stored, so the 201 and a later GET agree
	s := Shipment{WaybillNo: in.WaybillNo, Carrier: in.Carrier, CaseSerial: in.CaseSerial, Direction: in.Direction,
		Recipient: in.Recipient, Status: StatusRegistered, Events: []Event{}, RegisteredAt: now, UpdatedAt: now, id: id}
	var noticed bool
	err = pgx.BeginFunc(ctx, d.db, func(tx pgx.Tx) error {
		var b pgx.Batch
		queueLock(&b, s.WaybillNo)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("lock waybill: %w", err)
		}
		if err := d.insertShipment(ctx, tx, &s, app); err != nil {
			return err
		}
		var cur *Event
		b = pgx.Batch{}
		queueAttach(&b, s)
		queueRefresh(&b, s.Carrier, s.WaybillNo, now, &cur)
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("attach kept events: %w", err)
		}
		if cur != nil {
			at := cur.At
			s.Status, s.StatusAt = cur.Status, &at
			if noticed, err = d.notify(ctx, tx, s, *cur); err != nil {
				return err
			}
		}
		list := []Shipment{s}
		if err := withEvents(ctx, tx, list); err != nil {
			return err
		}
		s.Events = list[0].Events
		answer := httpx.JSON(http.StatusCreated, s)
		return idempotency.Settle(ctx, tx, idempotency.Response{Status: answer.StatusCode, Header: answer.Header, Body: answer.Body})
	})
	if err != nil {
		if _, ok := problem.As(err); ok {
			return Shipment{}, err
		}
		return Shipment{}, fmt.Errorf("register shipment %s/%s: %w", s.Carrier, s.WaybillNo, err)
	}
	if noticed {
		d.outbox.Kick()
	}
	return s, nil
}

// insertShipment writes s, with the department its notices go to: the
// case's, or for a bundle case (which has none) the bundle's lead
// department from the catalogue record.
func (d *Desk) insertShipment(ctx context.Context, tx pgx.Tx, s *Shipment, app auth.App) error {
	err := tx.QueryRow(ctx, `SELECT coalesce(c.department, b.doc->>'leadDepartment', '')
		FROM cases c LEFT JOIN catalog_bundles b ON b.code = c.bundle_code WHERE c.serial = $1`, s.CaseSerial).
		Scan(&s.department)
	if errors.Is(err, pgx.ErrNoRows) {
		return problem.NotFound("no case " + s.CaseSerial)
	}
	if err != nil {
		return fmt.Errorf("read case %s: %w", s.CaseSerial, err)
	}
	// shipments_carrier_waybill_no_key arbitrates between registrations
	// (also serialised by the waybill lock).
	tag, err := tx.Exec(ctx, `INSERT INTO shipments (shipment_id, carrier, waybill_no, case_id, case_serial, direction,
			recipient, department, app_id, created_at, updated_at)
		SELECT $1, $2, $3, c.case_id, c.serial, $5, $6, nullif($7, ''), $8, $9, $9 FROM cases c WHERE c.serial = $4
		ON CONFLICT (carrier, waybill_no) DO NOTHING`,
		s.id, s.Carrier, s.WaybillNo, s.CaseSerial, s.Direction, []byte(s.Recipient), s.department, app.ID, s.RegisteredAt)
	if err != nil {
		return fmt.Errorf("insert shipment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return problem.Conflict(CodeShipmentExists, "waybill "+s.WaybillNo+" of "+s.Carrier+" is already registered")
	}
	return nil
}

// queueAttach queues what gives s the events kept for its waybill before
// it was registered: those reported for its carrier, and those whose
// carrier was unknown if the app that reported them may carry it. An
// unknown-carrier copy of an event the carrier also reported is a
// duplicate and goes first. Index shipment_events_unattached.
func queueAttach(b *pgx.Batch, s Shipment) {
	const eligible = `waybill_no = $1 AND shipment_id IS NULL AND carrier = '' AND (may_carry = '{}' OR $2 = ANY (may_carry))`
	b.Queue(`DELETE FROM shipment_events e WHERE `+eligible+`
		AND EXISTS (SELECT 1 FROM shipment_events x WHERE x.carrier = $2 AND x.waybill_no = $1 AND x.event_id = e.event_id)`,
		s.WaybillNo, s.Carrier)
	b.Queue(`UPDATE shipment_events SET shipment_id = $3, carrier = $2, may_carry = '{}'
		WHERE waybill_no = $1 AND shipment_id IS NULL AND (carrier = $2 OR (carrier = '' AND (may_carry = '{}' OR $2 = ANY (may_carry))))`,
		s.WaybillNo, s.Carrier, s.id)
}
