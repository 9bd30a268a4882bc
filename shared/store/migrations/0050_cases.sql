-- Cases (办件, contract section 4, shared/cases).

-- Uploads announced by POST /uploads. The object lives at object_key from
-- the moment the client PUTs it; a submission that uses the upload sets
-- attached_at in the same transaction that writes the case, so an upload is
-- used by at most one case. Uploads never attached are swept (object, then
-- row) 24 h after they were announced; the partial index serves the sweep.
CREATE TABLE uploads (
    upload_id    uuid PRIMARY KEY,
    app_id       text NOT NULL,
    object_key   text NOT NULL UNIQUE,
    file_name    text NOT NULL,
    content_type text NOT NULL,
    size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL,
    attached_at  timestamptz
);
CREATE INDEX uploads_unattached ON uploads (created_at) WHERE attached_at IS NULL;

-- One row per case. A bundle application (一件事) is a bundle case
-- (bundle_code set, no department) over one child case per item (parent_id
-- set). holder_id is the applicant's full ID number: it finds a holder's
-- earlier materials (历史材料) and is never answered unmasked.
CREATE TABLE cases (
    case_id       uuid PRIMARY KEY,
    serial        text NOT NULL UNIQUE,
    parent_id     uuid REFERENCES cases (case_id),
    item_code     text,
    bundle_code   text,
    department    text,
    region        text NOT NULL,
    channel       text NOT NULL CHECK (channel IN ('online', 'onsite', 'department')),
    status        text NOT NULL,
    app_id        text NOT NULL,
    holder_id     text NOT NULL,
    applicant     jsonb NOT NULL,
    form          jsonb,
    delivery      jsonb,
    immediate     boolean NOT NULL DEFAULT false,
    accept_days   integer NOT NULL DEFAULT 0,
    promised_days integer NOT NULL DEFAULT 0,
    legal_days    integer NOT NULL DEFAULT 0,
    received_at   timestamptz NOT NULL,
    accepted_at   timestamptz,
    -- special_since is set while a special procedure (特别程序) runs;
    -- special_days sums the working days of the finished ones.
    special_since timestamptz,
    special_days  integer NOT NULL DEFAULT 0,
    accept_by     timestamptz,
    promised_due  timestamptz,
    legal_due     timestamptz,
    last_event_at timestamptz NOT NULL,
    events        integer NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CHECK ((item_code IS NULL) <> (bundle_code IS NULL))
);
-- GET /cases: an app's own top-level cases, newest first, by applicant and status.
CREATE INDEX cases_by_app ON cases (app_id, created_at DESC, case_id DESC) WHERE parent_id IS NULL;
CREATE INDEX cases_by_holder ON cases (app_id, holder_id, created_at DESC, case_id DESC) WHERE parent_id IS NULL;
CREATE INDEX cases_children ON cases (parent_id) WHERE parent_id IS NOT NULL;

-- Every event of a case in order (seq 1 is the submission). status is the
-- case's status after the event.
CREATE TABLE case_events (
    case_id     uuid NOT NULL REFERENCES cases (case_id),
    seq         integer NOT NULL,
    type        text NOT NULL,
    at          timestamptz NOT NULL,
    app_id      text NOT NULL,
    operator    text,
    opinion     text,
    amount_fen  bigint,
    score       smallint,
    status      text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- The materials of a case: each is either files (attachments) or an
-- electronic license (license_no).
CREATE TABLE case_materials (
    case_id    uuid NOT NULL REFERENCES cases (case_id),
    code       text NOT NULL,
    position   integer NOT NULL,
    license_no text,
    PRIMARY KEY (case_id, code)
);

-- Files of a case's materials. An attachment taken from an earlier case of
-- the same holder (historyOf) is a new row over the same object.
CREATE TABLE attachments (
    attachment_id uuid PRIMARY KEY,
    case_id       uuid NOT NULL REFERENCES cases (case_id),
    material_code text NOT NULL,
    position      integer NOT NULL,
    object_key    text NOT NULL,
    file_name     text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL,
    sha256        text NOT NULL,
    app_id        text NOT NULL,
    holder_id     text NOT NULL,
    history_of    uuid,
    created_at    timestamptz NOT NULL
);
CREATE INDEX attachments_by_case ON attachments (case_id);
CREATE INDEX attachments_by_holder ON attachments (app_id, holder_id, created_at DESC);
