-- Apps: every caller of OneWindow (contract section 1). The secret is kept as
-- issued because HMAC verification needs it; no answer or log ever shows it.
CREATE TABLE apps (
    id          text PRIMARY KEY,
    secret      text NOT NULL,
    roles       text[] NOT NULL,
    departments text[] NOT NULL DEFAULT '{}',
    disabled    boolean NOT NULL DEFAULT false,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Nonces seen in the last 10 minutes, shared by every replica of every
-- function: the replay guard for non-GET requests. Rows older than the
-- window are swept; the index serves the sweep.
CREATE TABLE request_nonces (
    app_id  text NOT NULL,
    nonce   text NOT NULL,
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (app_id, nonce)
);
CREATE INDEX request_nonces_seen_at ON request_nonces (seen_at);

-- Idempotency-Key records (contract section 0). One row per app, function
-- and key; the first request inserts it in state in_flight and stores its
-- answer when done. lease_until lets another request take over a key whose
-- first request died. Rows live at least 24 h (expires_at, swept by index).
CREATE TABLE idempotency_keys (
    app_id        text NOT NULL,
    function      text NOT NULL,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    state         text NOT NULL CHECK (state IN ('in_flight', 'done')),
    lease_until   timestamptz NOT NULL,
    status        integer,
    headers       jsonb,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL DEFAULT now() + interval '25 hours',
    PRIMARY KEY (app_id, function, key)
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
