-- The catalogue (contract section 3, shared/catalog).
--
-- Every record table has the same layout: the record's code, its version
-- (1, 2, ... per record, bumped by each PUT that changes it), the catalogue
-- revision of its last change, the record as JSON (doc, the contract's
-- shape; for departments without the webhook secret) and who wrote it
-- when. Records are never deleted: abolishing is a status in doc.
--
-- Replicas keep the whole catalogue in memory. catalog_revision counts
-- every change; a replica that last read revision R reloads the rows with
-- revision > R (the *_revision indexes) when it is notified on channel
-- catalog_changed or when its periodic check sees the counter move.

-- The catalogue-wide change counter. Writers lock this one row first
-- (SELECT ... FOR UPDATE), which serialises catalogue writes (rare, admin
-- only) and makes revisions ascend in commit order.
CREATE TABLE catalog_revision (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision  bigint  NOT NULL
);
INSERT INTO catalog_revision (singleton, revision) VALUES (true, 0);

CREATE TABLE catalog_departments (
    code           text PRIMARY KEY,
    version        integer NOT NULL CHECK (version >= 1),
    revision       bigint NOT NULL,
    doc            jsonb NOT NULL,
    -- The Standard Webhooks secret (whsec_...), write-only: never in doc,
    -- in history or in any answer. '' when none.
    webhook_secret text NOT NULL DEFAULT '',
    updated_at     timestamptz NOT NULL,
    updated_by     text NOT NULL
);
CREATE INDEX catalog_departments_revision ON catalog_departments (revision);

CREATE TABLE catalog_license_types (
    code       text PRIMARY KEY,
    version    integer NOT NULL CHECK (version >= 1),
    revision   bigint NOT NULL,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
CREATE INDEX catalog_license_types_revision ON catalog_license_types (revision);

CREATE TABLE catalog_items (
    code       text PRIMARY KEY,
    version    integer NOT NULL CHECK (version >= 1),
    revision   bigint NOT NULL,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
CREATE INDEX catalog_items_revision ON catalog_items (revision);

CREATE TABLE catalog_bundles (
    code       text PRIMARY KEY,
    version    integer NOT NULL CHECK (version >= 1),
    revision   bigint NOT NULL,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
CREATE INDEX catalog_bundles_revision ON catalog_bundles (revision);

CREATE TABLE catalog_scope_entries (
    code       text PRIMARY KEY,
    version    integer NOT NULL CHECK (version >= 1),
    revision   bigint NOT NULL,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text NOT NULL
);
CREATE INDEX catalog_scope_entries_revision ON catalog_scope_entries (revision);

-- Every version of every record as written: kind is item, bundle, scope,
-- license_type or department; changed lists the top-level fields that
-- differ from the previous version (every field for version 1; a new
-- department secret shows as webhookSecret, never its value). Read by
-- GET /{kind}/{code}/history through the primary key.
CREATE TABLE catalog_history (
    kind       text    NOT NULL,
    code       text    NOT NULL,
    version    integer NOT NULL,
    revision   bigint  NOT NULL,
    doc        jsonb   NOT NULL,
    changed    text[]  NOT NULL,
    changed_by text    NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (kind, code, version)
);

-- Enterprises' current selections of scope expressions (自主公示), one row
-- per unified social credit code: entries is [{"code","expressionIds"}].
CREATE TABLE scope_selections (
    uscc        text PRIMARY KEY,
    entries     jsonb   NOT NULL,
    version     integer NOT NULL,
    selected_at timestamptz NOT NULL,
    selected_by text NOT NULL
);

-- Every save of a selection, kept for the monthly tracking statistics
-- (自主公示应用跟踪监测). entries is [{"code","domain","expressionIds"}] with
-- the entry's domain at selection time. GET /scopes/stats reads one
-- month through scope_selection_log_selected_at.
CREATE TABLE scope_selection_log (
    id          bigserial PRIMARY KEY,
    uscc        text NOT NULL,
    entries     jsonb NOT NULL,
    selected_at timestamptz NOT NULL,
    selected_by text NOT NULL
);
CREATE INDEX scope_selection_log_selected_at ON scope_selection_log (selected_at);
