-- Fetches of case attachments (GET /attachments/{id}, contract section 5):
-- one row per presigned download handed out, committed before the URL
-- leaves the function. Read per case for audits ("who looked at this
-- case's files"), hence the index.
CREATE TABLE attachment_fetches (
    fetch_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attachment_id uuid NOT NULL REFERENCES attachments (attachment_id),
    case_id       uuid NOT NULL REFERENCES cases (case_id),
    app_id        text NOT NULL,
    fetched_at    timestamptz NOT NULL
);
CREATE INDEX attachment_fetches_by_case ON attachment_fetches (case_id, fetched_at);
