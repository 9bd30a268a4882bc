package shipments

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/onewindow/onewindow/shared/auth"
	"github.com/onewindow/onewindow/shared/cases"
	"github.com/onewindow/onewindow/shared/problem"
)

// Shipment is a shipment as GET /shipments/{waybillNo} answers it and as
// the case's delivery.shipments lists it: its events in time order and
// the status they decide.
type Shipment struct {
	WaybillNo  string          `json:"waybillNo"`
	Carrier    string          `json:"carrier"`
	CaseSerial string          `json:"caseSerial"`
	Direction  Direction       `json:"direction"`
	Recipient  json.RawMessage `json:"recipient,omitempty"`
	// Status is the deciding event's status; "registered" while there
	// is no event.
	Status Status `json:"status"`
	// StatusAt is the deciding event's time; absent without events.
	StatusAt     *time.Time `json:"statusAt,omitempty"`
	Events       []Event    `json:"events"`
	RegisteredAt time.Time  `json:"registeredAt"`
	// UpdatedAt is when the status last changed (registration at first).
	UpdatedAt time.Time `json:"updatedAt"`

	id         uuid.UUID
	department string // where notices go; "" for none
}

// querier is a pool, a transaction, or the cases.Querier of a view.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

const shipmentColumns = `shipment_id, carrier, waybill_no, case_serial, direction, recipient,
	coalesce(department, ''), status, status_at, created_at, updated_at`

func scanShipment(row pgx.CollectableRow) (Shipment, error) {
	var s Shipment
	err := row.Scan(&s.id, &s.Carrier, &s.WaybillNo, &s.CaseSerial, &s.Direction, &s.Recipient,
		&s.department, &s.Status, &s.StatusAt, &s.RegisteredAt, &s.UpdatedAt)
	s.Events = []Event{}
	return s, err
}

// findShipments reads the shipments that where (with its arguments)
// selects, without their events.
func findShipments(ctx context.Context, q querier, where string, args ...any) ([]Shipment, error) {
	rows, err := q.Query(ctx, `SELECT `+shipmentColumns+` FROM shipments WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read shipments: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanShipment)
	if err != nil {
		return nil, fmt.Errorf("read shipments: %w", err)
	}
	return out, nil
}

// withEvents adds their events to shipments, in time order, in one query
// (index shipment_events_by_shipment).
func withEvents(ctx context.Context, q querier, shipments []Shipment) error {
	if len(shipments) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(shipments))
	at := make(map[uuid.UUID]int, len(shipments))
	for i, s := range shipments {
		ids[i], at[s.id] = s.id, i
	}
	rows, err := q.Query(ctx, `SELECT shipment_id, event_id, status, at, coalesce(location, ''), coalesce(description, '')
		FROM shipment_events WHERE shipment_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("read shipment events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var e Event
		if err := rows.Scan(&id, &e.EventID, &e.Status, &e.At, &e.Location, &e.Description); err != nil {
			return fmt.Errorf("read shipment events: %w", err)
		}
		s := &shipments[at[id]]
		s.Events = append(s.Events, e)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read shipment events: %w", err)
	}
	for i := range shipments {
		sortEvents(shipments[i].Events)
	}
	return nil
}

// CodeAmbiguousWaybill is the 409 of GET /shipments/{waybillNo} when the
// caller may see shipments of several carriers with that number.
const CodeAmbiguousWaybill = "ambiguous_waybill"

// Get is GET /shipments/{waybillNo}[?carrier=]: the shipment with its
// events, for whoever may see its case; 404 for a waybill that is not
// registered or whose case app may not see. Without carrier, a number
// app may see with several carriers is 409 ambiguous_waybill.
func (d *Desk) Get(ctx context.Context, app auth.App, waybillNo, carrier string) (Shipment, error) {
	notFound := problem.NotFound("no shipment " + waybillNo)
	if !ValidWaybill(waybillNo) {
		return Shipment{}, notFound
	}
	if carrier != "" {
		if carrier = NormalCarrier(carrier); carrier == "" {
			return Shipment{}, notFound
		}
	}
	found, err := findShipments(ctx, d.db, `waybill_no = $1 AND ($2 = '' OR carrier = $2) ORDER BY carrier`, waybillNo, carrier)
	if err != nil {
		return Shipment{}, err
	}
	var mine []Shipment
	for _, s := range found {
		ok, err := d.cases.Visible(ctx, app, s.CaseSerial)
		if err != nil {
			return Shipment{}, fmt.Errorf("check shipment visibility: %w", err)
		}
		if ok {
			mine = append(mine, s)
		}
	}
	switch len(mine) {
	case 0:
		return Shipment{}, notFound
	case 1:
	default:
		return Shipment{}, problem.Conflict(CodeAmbiguousWaybill,
			"waybill "+waybillNo+" is registered with several carriers; name one with ?carrier=")
	}
	if err := withEvents(ctx, d.db, mine); err != nil {
		return Shipment{}, err
	}
	return mine[0], nil
}

// caseView fills a case view's delivery.shipments.
type caseView struct{}

// ViewExtension returns the cases.Extension that lists a case's shipments,
// each as GET /shipments/{waybillNo} shows it, in the case's
// delivery.shipments. case-submit gives it to cases.Config.Extensions.
func ViewExtension() cases.Extension { return caseView{} }

// ExtendView reads the shipments registered for v's case, oldest first
// (index shipments_by_case).
func (caseView) ExtendView(ctx context.Context, q cases.Querier, v *cases.View) error {
	list, err := findShipments(ctx, q, `case_serial = $1 ORDER BY created_at, carrier, waybill_no`, v.Serial)
	if err != nil {
		return err
	}
	if err := withEvents(ctx, q, list); err != nil {
		return err
	}
	v.Delivery.Shipments = make([]json.RawMessage, 0, len(list))
	for _, s := range list {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode shipment %s: %w", s.WaybillNo, err)
		}
		v.Delivery.Shipments = append(v.Delivery.Shipments, b)
	}
	return nil
}
