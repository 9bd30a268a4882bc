package shipments

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/webhook"
)

// Webhook types of the notices to the department of a shipment's case.
const (
	TypeFailed   = "shipment.failed"   // the deciding event became a failed_delivery
	TypeReturned = "shipment.returned" // the deciding event became a returned
)

// notice is the body a department system receives: the shipment as GET
// shows it and the event that made it fail or return.
type notice struct {
	Type       string   `json:"type"`
	CaseSerial string   `json:"caseSerial"`
	Shipment   Shipment `json:"shipment"`
	Event      Event    `json:"event"`
}

func noticeType(s Status) string {
	switch s {
	case StatusFailedDelivery:
		return TypeFailed
	case StatusReturned:
		return TypeReturned
	}
	return ""
}

// notify queues a notice, in tx, when e (which has just become the
// deciding event of s) is a failure or a return. A later failure after a
// new attempt is noticed again; a duplicate or an older event, which does
// not become the deciding one, never is. The stream is the case's serial,
// so the notice is ordered with the case's own deliveries and listed
// among them. It reports whether a notice was queued.
func (d *Desk) notify(ctx context.Context, tx pgx.Tx, s Shipment, e Event) (bool, error) {
	typ := noticeType(e.Status)
	if typ == "" {
		return false, nil
	}
	if s.department == "" {
		slog.WarnContext(ctx, "shipment notice has no department", "case", s.CaseSerial, "waybill", s.WaybillNo, "type", typ)
		return false, nil
	}
	s.Events = []Event{} // read afresh: they include the ones just stored
	list := []Shipment{s}
	if err := withEvents(ctx, tx, list); err != nil {
		return false, err
	}
	body, err := json.Marshal(notice{Type: typ, CaseSerial: s.CaseSerial, Shipment: list[0], Event: e})
	if err != nil {
		return false, fmt.Errorf("encode shipment notice: %w", err)
	}
	if _, err := d.outbox.Enqueue(ctx, tx, webhook.Message{
		Stream: s.CaseSerial, Department: s.department, Type: typ, Body: body,
	}); err != nil {
		return false, fmt.Errorf("queue shipment notice: %w", err)
	}
	return true, nil
}
