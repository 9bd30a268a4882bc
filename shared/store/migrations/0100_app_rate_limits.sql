-- Per-app request rates (auth.RateLimits): 0 means no limit.
ALTER TABLE apps
    ADD COLUMN rate_per_second double precision NOT NULL DEFAULT 0 CHECK (rate_per_second >= 0),
    ADD COLUMN rate_burst integer NOT NULL DEFAULT 0 CHECK (rate_burst >= 0);
