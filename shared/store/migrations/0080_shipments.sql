-- Shipments and courier events (统一物流, contract section 8, shared/shipments).
--
-- A shipment is identified by (carrier, waybill_no): carriers number their
-- waybills independently, so two carriers may use the same number.
-- Everything about one waybill number (any carrier) is serialised by a
-- transaction-scoped advisory lock on (8080, hash of the number), taken by
-- the intake of a notification and by a registration: an event and the
-- registration of its waybill never miss each other.

-- Registered shipments. status, status_at and status_event are those of
-- the deciding event (shipments.Event.Decides); 'registered' with NULLs
-- until an event arrives. department receives the failure and return
-- notices: the case's, or for a bundle case its lead department's.
CREATE TABLE shipments (
    shipment_id  uuid PRIMARY KEY,
    carrier      text NOT NULL,
    waybill_no   text NOT NULL,
    case_id      uuid NOT NULL REFERENCES cases (case_id),
    case_serial  text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    recipient    jsonb,
    department   text,
    app_id       text NOT NULL,
    status       text NOT NULL DEFAULT 'registered',
    status_at    timestamptz,
    status_event text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    UNIQUE (carrier, waybill_no)
) WITH (fillfactor = 70); -- room for HOT updates: status changes with every push
-- A notification and GET /shipments/{waybillNo} know the number, not
-- always the carrier.
CREATE INDEX shipments_by_waybill ON shipments (waybill_no);
-- The case view's delivery.shipments.
CREATE INDEX shipments_by_case ON shipments (case_serial, created_at);

-- Every courier event once. The primary key is the deduplication: a
-- repeated (carrier, waybill_no, event_id) is a duplicate, whichever
-- replica sees it. shipment_id is NULL while the waybill is not
-- registered; carrier is '' when the app that reported the event could
-- not tell the carrier (an app bound to several carriers or to none, for
-- a number registered with none), and may_carry then lists the carriers
-- that app is bound to (empty: any). Registration attaches such events
-- too, when its carrier is among them.
CREATE TABLE shipment_events (
    carrier         text NOT NULL,
    waybill_no      text NOT NULL,
    event_id        text NOT NULL,
    shipment_id     uuid REFERENCES shipments (shipment_id),
    may_carry       text[] NOT NULL DEFAULT '{}',
    status          text NOT NULL CHECK (status IN ('created', 'picked_up', 'in_transit',
                        'out_for_delivery', 'failed_delivery', 'delivered', 'returned')),
    at              timestamptz NOT NULL,
    location        text,
    description     text,
    app_id          text NOT NULL,
    notification_id uuid NOT NULL,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (carrier, waybill_no, event_id)
);
CREATE INDEX shipment_events_by_shipment ON shipment_events (shipment_id) WHERE shipment_id IS NOT NULL;
CREATE INDEX shipment_events_unattached ON shipment_events (waybill_no) WHERE shipment_id IS NULL;

-- The raw body of every authenticated notification, committed before it
-- is processed: the audit trail of what couriers sent, which survives a
-- crash in the middle of processing. processed_at and outcome are set
-- with the effect ('applied', in the same transaction) or when it was
-- refused (the problem code); both stay NULL for one whose processing
-- failed (the courier retries it). request_id is the X-Request-Id. The
-- outcome is written by an update that touches no indexed column, and the
-- free space left in each page lets it be a HOT update (no index entries).
-- Unprocessed rows are found by received_at (the crash trail is short).
CREATE TABLE logistics_notifications (
    notification_id uuid PRIMARY KEY,
    app_id          text NOT NULL,
    request_id      text NOT NULL,
    body            bytea NOT NULL,
    received_at     timestamptz NOT NULL,
    processed_at    timestamptz,
    outcome         text,
    accepted        integer,
    duplicates      integer
) WITH (fillfactor = 80);
CREATE INDEX logistics_notifications_received ON logistics_notifications (received_at);
