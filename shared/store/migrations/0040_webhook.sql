-- The webhook outbox (contract section 4, shared/webhook): signed POSTs to
-- department systems, written in the caller's transaction and delivered
-- afterwards by any replica.
--
-- A stream is an ordering key (a case). Its deliveries are numbered 1, 2,
-- ... in commit order and sent one at a time: a delivery is attempted only
-- once every earlier delivery of its stream is delivered or failed.

-- One row per stream. last_seq is the latest number handed out; Enqueue
-- bumps it with INSERT ... ON CONFLICT DO UPDATE, which also holds the row
-- lock until the caller commits, so numbers follow commit order and have no
-- gaps. A deliverer finishing a delivery updates finished_seq (the seq of
-- the latest delivery that left 'pending') under the same lock: that is
-- what keeps an enqueuer and a finisher from both believing the other will
-- wake the next delivery. Rows are tiny and kept.
CREATE TABLE webhook_streams (
    stream       text   PRIMARY KEY,
    last_seq     bigint NOT NULL CHECK (last_seq >= 1),
    finished_seq bigint NOT NULL DEFAULT 0
);

-- One row per delivery. id is the webhook-id (sent as msg_<id>), the same
-- on every attempt. body is the JSON exactly as enqueued (json, not jsonb:
-- the signature covers the bytes).
--
-- next_attempt_at is the scheduler's one column:
--   NULL while pending   waiting for an earlier delivery of its stream;
--   an instant           due then (the stream's head); while an attempt is
--                        in flight, the end of the claiming replica's lease,
--                        after which another replica takes it over;
--   NULL once finished.
-- attempts counts attempts started; a replica's updates after its attempt
-- carry the count it claimed with, so a replica whose lease was taken over
-- changes nothing. last_error is short and never holds a URL or secret.
-- finished_at is when the delivery was delivered or parked as failed.
CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY,
    stream          text        NOT NULL,
    seq             bigint      NOT NULL,
    department      text        NOT NULL,
    type            text        NOT NULL,
    body            json        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz,
    finished_at     timestamptz,
    UNIQUE (stream, seq),
    CHECK ((state = 'pending') = (finished_at IS NULL)),
    CHECK (state = 'pending' OR next_attempt_at IS NULL)
);

-- The claim: due heads of streams, oldest first. Only heads have
-- next_attempt_at set, so the index holds one row per busy stream.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

-- "Is anything of this stream pending, and which comes next": read by
-- Enqueue and by the finish that wakes the next delivery.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (stream, seq)
    WHERE state = 'pending';
