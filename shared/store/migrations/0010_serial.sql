-- Serial counters (contract section 2, shared/serial): per region, channel
-- and Asia/Shanghai day, next_seq is the first sequence number no replica
-- has reserved yet. Replicas reserve blocks with one INSERT ... ON CONFLICT
-- DO UPDATE on the primary key, serial_counters_pkey. A row only ever
-- grows, and is never deleted while its day can still be issued: that is
-- what makes every serial unique. Rows are tiny (one per key and day), so
-- none are deleted at all.
CREATE TABLE serial_counters (
    region   text     NOT NULL CHECK (region ~ '^[0-9]{6}$'),
    channel  smallint NOT NULL CHECK (channel IN (1, 2, 3, 9)),
    day      date     NOT NULL,
    next_seq bigint   NOT NULL CHECK (next_seq >= 1),
    PRIMARY KEY (region, channel, day)
);
