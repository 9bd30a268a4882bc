package shipments

import (
	"cmp"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Status is where a shipment stands: the status of its deciding event
// (Current), or StatusRegistered while it has none.
type Status string

// The courier statuses of contract section 8, in the order of a journey.
const (
	StatusCreated        Status = "created"
	StatusPickedUp       Status = "picked_up"
	StatusInTransit      Status = "in_transit"
	StatusOutForDelivery Status = "out_for_delivery"
	StatusFailedDelivery Status = "failed_delivery"
	StatusDelivered      Status = "delivered"
	StatusReturned       Status = "returned"
)

// StatusRegistered is the status of a registered shipment no courier
// event has reached yet. It is never an event's status.
const StatusRegistered Status = "registered"

// journey ranks the event statuses; it breaks ties between events of the
// same instant (a later stage wins among non-terminal events).
var journey = []Status{StatusCreated, StatusPickedUp, StatusInTransit, StatusOutForDelivery,
	StatusFailedDelivery, StatusDelivered, StatusReturned}

func (s Status) rank() int { return slices.Index(journey, s) }

// Valid reports whether s is a status a courier event may carry.
func (s Status) Valid() bool { return s.rank() >= 0 }

// Terminal reports whether s ends a journey: delivered and returned.
// Once a shipment has a terminal event no other event decides its status.
func (s Status) Terminal() bool { return s == StatusDelivered || s == StatusReturned }

// Event is one courier event of a shipment. EventID is the provider's,
// unique per carrier and waybill; At is truncated to microseconds, the
// precision PostgreSQL keeps, so a stored event compares as it arrived.
type Event struct {
	EventID     string    `json:"eventId"`
	Status      Status    `json:"status"`
	At          time.Time `json:"at"`
	Location    string    `json:"location,omitempty"`
	Description string    `json:"description,omitempty"`
}

// decides reports whether e, rather than other, decides the status of a
// shipment that has both. The rule is a strict total order over distinct
// (At, Status, EventID), so the deciding event of a set does not depend
// on the order its events arrived in, nor on duplicates:
//
//   - a terminal event beats any non-terminal one, however late that is
//     (no late event regresses delivered or returned);
//   - among terminal events the earliest wins: the journey ended there,
//     and a later "delivered" of a returned parcel is its return to the
//     sender, not a delivery to the applicant;
//   - among the others the latest wins;
//   - ties in At go to the later stage of the journey, then to the
//     greater EventID (for terminal events: the earlier stage, the
//     smaller EventID), only so that the order is total.
func (e Event) decides(other Event) bool {
	if e.Status.Terminal() != other.Status.Terminal() {
		return e.Status.Terminal()
	}
	c := cmp.Or(e.At.Compare(other.At), cmp.Compare(e.Status.rank(), other.Status.rank()),
		cmp.Compare(e.EventID, other.EventID))
	if e.Status.Terminal() {
		return c < 0
	}
	return c > 0
}

// Current returns the event that decides the status of a shipment with
// these events; ok is false when there are none.
func Current(events []Event) (current Event, ok bool) {
	for _, e := range events {
		if !ok || e.decides(current) {
			current, ok = e, true
		}
	}
	return current, ok
}

// sortEvents puts events in time order, as GET /shipments shows them
// (ties as the journey goes, then by EventID).
func sortEvents(events []Event) {
	slices.SortFunc(events, func(a, b Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Status.rank(), b.Status.rank()), cmp.Compare(a.EventID, b.EventID))
	})
}

// refreshStatus sets a shipment's status to its deciding event, in SQL:
// the ORDER BY is decides, row for row (event_id compared bytewise, as
// Go compares strings), and TestAnyOrderEndsInTheSameState checks that
// the two agree. It changes the row only when the deciding event changed,
// and then returns it. $1 carrier, $2 waybill number, $3 the time of the
// change. Index shipment_events_by_shipment.
const refreshStatus = `
	UPDATE shipments s SET status = d.status, status_at = d.at, status_event = d.event_id, updated_at = $3
	FROM shipments old CROSS JOIN LATERAL (
		SELECT x.event_id, x.status, x.at FROM (
			SELECT e.event_id, e.status, e.at, e.status IN ('delivered', 'returned') AS t,
				array_position(ARRAY['created', 'picked_up', 'in_transit', 'out_for_delivery',
					'failed_delivery', 'delivered', 'returned'], e.status) AS r
			FROM shipment_events e WHERE e.shipment_id = old.shipment_id) x
		ORDER BY x.t DESC,
			CASE WHEN x.t THEN x.at END, CASE WHEN x.t THEN x.r END, CASE WHEN x.t THEN x.event_id COLLATE "C" END,
			CASE WHEN NOT x.t THEN x.at END DESC, CASE WHEN NOT x.t THEN x.r END DESC,
			CASE WHEN NOT x.t THEN x.event_id COLLATE "C" END DESC
		LIMIT 1) d
	WHERE s.shipment_id = old.shipment_id AND old.carrier = $1 AND old.waybill_no = $2
		AND old.status_event IS DISTINCT FROM d.event_id
	RETURNING d.event_id, d.status, d.at`

// queueRefresh queues refreshStatus for the shipment (carrier, waybillNo);
// when cur is not nil, it is set to the new deciding event if it changed.
func queueRefresh(b *pgx.Batch, carrier, waybillNo string, now time.Time, cur **Event) {
	b.Queue(refreshStatus, carrier, waybillNo, now).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var e Event
			if err := rows.Scan(&e.EventID, &e.Status, &e.At); err != nil {
				return err
			}
			if cur != nil {
				*cur = &e
			}
		}
		return rows.Err()
	})
}
