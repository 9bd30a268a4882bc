-- Payment orders and the providers' notifications about them (contract
-- section 7, shared/payments).

-- One row per payment order (缴费单), opened in the transaction of a
-- department's payment_requested event; a case's current order is its
-- latest (payment_orders_by_case). status, case_paid, paid_at,
-- paid_notify_id and provider_txn_id are payments.State: a function of the
-- set of notifications applied, whatever their order. case_not_moved marks
-- a right payment the case could not take (it was no longer awaiting
-- payment, say withdrawn): reconciliation lists it. channel is the payment
-- channel, NULL until the first notification of a bound provider app
-- claims the order. opened_at is the event's time, created_at when the row
-- was written: the latter puts an order in a day's reconciliation.
CREATE TABLE payment_orders (
    payment_serial  text PRIMARY KEY CHECK (payment_serial ~ '^[0-9]{6}9[0-9]{15}[0-9X]$'),
    case_serial     text NOT NULL REFERENCES cases (serial),
    department      text NOT NULL,
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    status          text NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'refunded', 'amount_mismatch')),
    channel         text,
    case_paid       boolean NOT NULL DEFAULT false,
    case_not_moved  boolean NOT NULL DEFAULT false,
    paid_at         timestamptz,
    paid_notify_id  text,
    provider_txn_id text,
    opened_at       timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX payment_orders_by_case ON payment_orders (case_serial, created_at DESC);
CREATE INDEX payment_orders_by_day ON payment_orders (created_at);

-- Every authenticated POST / of a provider, its body raw, committed before
-- the notification is processed: the audit trail, and what Redrive
-- processes again when a replica died mid-way. app_channels is the app's
-- binding when the request was authenticated. outcome is NULL until
-- processing finished (payments.Outcome); attempts counts Redrive's tries.
-- payment_receipts_unprocessed serves Redrive.
CREATE TABLE payment_receipts (
    receipt_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id       text NOT NULL,
    app_channels text[] NOT NULL DEFAULT '{}',
    request_id   text NOT NULL,
    received_at  timestamptz NOT NULL,
    body         bytea NOT NULL,
    notify_id    text,
    outcome      text,
    attempts     integer NOT NULL DEFAULT 0,
    processed_at timestamptz
);
CREATE INDEX payment_receipts_unprocessed ON payment_receipts (received_at) WHERE outcome IS NULL;

-- One row per (app, notifyId) that reached an order: written in the
-- transaction of its effect, so its primary key is what makes processing
-- happen once, a concurrent duplicate waiting on the key until the first
-- commits. receipt_id is the receipt that carried it first.
CREATE TABLE payment_notifications (
    app_id          text NOT NULL,
    notify_id       text NOT NULL,
    payment_serial  text NOT NULL REFERENCES payment_orders (payment_serial),
    status          text NOT NULL CHECK (status IN ('paid', 'failed', 'refunded')),
    amount_fen      bigint,
    paid_at         timestamptz,
    provider_txn_id text NOT NULL DEFAULT '',
    outcome         text NOT NULL,
    receipt_id      bigint NOT NULL,
    received_at     timestamptz NOT NULL,
    PRIMARY KEY (app_id, notify_id)
);
CREATE INDEX payment_notifications_by_order ON payment_notifications (payment_serial, received_at);
CREATE INDEX payment_notifications_by_day ON payment_notifications (received_at);
