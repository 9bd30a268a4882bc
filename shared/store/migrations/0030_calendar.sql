-- Working-day calendars (contract section 6, shared/calendar). One row per
-- year an admin has PUT; it replaces, for that year, the State Council
-- schedule shipped with the code. Holidays and make-up workdays (调休) are
-- ascending dates of the row's year, validated by calendar.ParseYear.
--
-- Replicas read the whole table (a few rows) in one query and cache it
-- briefly. Each change notifies channel calendar_changed with the year, so
-- that warning-scan can recompute the deadlines it moves. Reads of one
-- year go through the primary key, calendar_years_pkey.
CREATE TABLE calendar_years (
    year       integer PRIMARY KEY CHECK (year BETWEEN 2000 AND 2199),
    holidays   date[]  NOT NULL,
    workdays   date[]  NOT NULL,
    updated_at timestamptz NOT NULL,
    updated_by text    NOT NULL
);
