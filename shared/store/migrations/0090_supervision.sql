-- Time-limit supervision (办件监督, contract section 6, shared/cards).

-- What supervision reads of a case, kept on its row by shared/cases:
-- next_check_at is the next instant the case's cards may change (NULL once
-- final); every event sets it to the event's time so that the next scan
-- looks at the case again, and the scan sets it to the next instant its
-- rules name. accept_from anchors acceptBy (reception or the last
-- completed supplement); deadlines_stale marks deadlines written under a
-- calendar since changed, which the scan recomputes. The counters and the
-- outcome feed GET /stats without reading events.
ALTER TABLE cases
    ADD COLUMN next_check_at    timestamptz,
    ADD COLUMN accept_from      timestamptz,
    ADD COLUMN deadlines_stale  boolean NOT NULL DEFAULT false,
    ADD COLUMN outcome          text,
    ADD COLUMN supplements      integer NOT NULL DEFAULT 0,
    ADD COLUMN complaints       integer NOT NULL DEFAULT 0,
    ADD COLUMN poor_evaluations integer NOT NULL DEFAULT 0,
    ADD COLUMN completed_at     timestamptz,
    ADD COLUMN working_days     integer;
CREATE INDEX cases_next_check ON cases (next_check_at) WHERE next_check_at IS NOT NULL;
CREATE INDEX cases_created ON cases (created_at) INCLUDE (department, region, item_code);
CREATE INDEX cases_completed ON cases (completed_at) WHERE completed_at IS NOT NULL;

-- Cards (黄牌, 红牌, 黑牌). A case holds at most one card per slot: the
-- time-limit slot (promised_approaching → promised_exceeded →
-- legal_exceeded, escalated in place) and one slot per other rule; the
-- unique key is what keeps overlapping scans from issuing twice. history
-- keeps every issue, escalation and revocation step.
CREATE TABLE cards (
    card_id     uuid PRIMARY KEY,
    case_id     uuid NOT NULL REFERENCES cases (case_id),
    case_serial text NOT NULL,
    department  text NOT NULL,
    region      text NOT NULL,
    item_code   text NOT NULL,
    slot        text NOT NULL CHECK (slot IN ('time_limit', 'acceptance_overdue', 'immediate_overdue')),
    rule        text NOT NULL,
    level       text NOT NULL CHECK (level IN ('yellow', 'red', 'black')),
    status      text NOT NULL CHECK (status IN ('active', 'revocation_requested', 'revoked')),
    issued_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    history     jsonb NOT NULL,
    UNIQUE (case_id, slot)
);
CREATE INDEX cards_by_department ON cards (department, issued_at DESC);
CREATE INDEX cards_issued ON cards (issued_at) INCLUDE (department, region, item_code, level);

-- Thresholds per item or department (the contract's behaviour when none):
-- yellow_days_before is how many working days before the promised
-- deadline's day a promised_approaching card starts.
CREATE TABLE card_thresholds (
    scope              text NOT NULL CHECK (scope IN ('item', 'department')),
    code               text NOT NULL,
    yellow_days_before integer NOT NULL CHECK (yellow_days_before BETWEEN 0 AND 30),
    updated_at         timestamptz NOT NULL,
    updated_by         text NOT NULL,
    PRIMARY KEY (scope, code)
);
