-- Electronic licenses (电子证照, contract section 5, shared/licenses).

-- One row per issued license; license_no is unique across types (an
-- existing number is 409 license_exists). department is the issuing
-- department (the license type's in the catalogue at issue time) and region
-- that department's: both are kept here so that a later catalogue change
-- neither moves who may revoke nor rewrites past statistics. holder_id is
-- the holder's full ID number in upper case; answers mask it.
--
-- The file is an upload of its issuing app (uploads, 0050), attached in the
-- transaction that writes the license, so the upload sweep never removes
-- it. Its key was written once through a write-once presigned PUT on a
-- versioned bucket: the bytes behind sha256 are never replaced.
--
-- status is what was decided (valid or revoked); expired is computed from
-- valid_until (NULL: no expiry, 长期有效) at the time of asking.
CREATE TABLE licenses (
    license_no     text PRIMARY KEY,
    type_code      text NOT NULL,
    department     text NOT NULL,
    region         text NOT NULL,
    holder_id_type text NOT NULL CHECK (holder_id_type IN ('resident_id', 'uscc', 'passport')),
    holder_id      text NOT NULL,
    holder_name    text NOT NULL,
    issued_at      timestamptz NOT NULL,
    valid_until    timestamptz,
    data           jsonb NOT NULL,
    upload_id      uuid NOT NULL UNIQUE,
    object_key     text NOT NULL,
    file_name      text NOT NULL,
    content_type   text NOT NULL,
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    app_id         text NOT NULL,
    status         text NOT NULL CHECK (status IN ('valid', 'revoked')),
    revoked_at     timestamptz,
    revoked_by     text,
    revoke_reason  text,
    created_at     timestamptz NOT NULL,
    CHECK (valid_until IS NULL OR valid_until > issued_at),
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
-- GET /licenses?holderId=&typeCode=: a holder's licenses in number order
-- (the keyset of the list's cursor).
CREATE INDEX licenses_by_holder ON licenses (holder_id, license_no);
-- GET /stats/issuance: a range of issue times, carrying the three grouping
-- columns so that the scan never visits the table (index-only).
CREATE INDEX licenses_issuance ON licenses (issued_at) INCLUDE (department, region, type_code);

-- Uses of licenses (用证记录): one row per license handed to an app for a
-- case, written (and committed) before the license leaves the function,
-- and by case-submit in the transaction of a case that names a license as
-- a material. item_code is the case's item (NULL for a bundle case).
-- type_code, department and region are copied from the license, so the
-- statistics read this table alone.
CREATE TABLE license_uses (
    use_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    license_no  text NOT NULL REFERENCES licenses (license_no),
    app_id      text NOT NULL,
    case_serial text NOT NULL REFERENCES cases (serial),
    item_code   text,
    used_at     timestamptz NOT NULL,
    type_code   text NOT NULL,
    department  text NOT NULL,
    region      text NOT NULL
);
-- The days not yet rolled up (below) are counted from here by use time.
CREATE INDEX license_uses_stats ON license_uses (used_at) INCLUDE (department, region, type_code);
-- Audits: who used this license, when, for which case.
CREATE INDEX license_uses_by_license ON license_uses (license_no, used_at);

-- Daily use counts (用证量) per department, region and type, complete for
-- every Asia/Shanghai date up to license_use_rollup.closed_through (NULL:
-- none yet). GET /stats/usage closes the days that ended at least an hour
-- ago (transactions in flight at midnight have committed by then), one
-- closer at a time under the singleton's row lock, and counts the later
-- days from license_uses. A row per day and (department, region, type) in
-- use, so a year of 1,000,000 uses of 25 types is about 9,000 rows here
-- (BenchmarkStats in shared/licenses).
CREATE TABLE license_use_days (
    day        date NOT NULL,
    department text NOT NULL,
    region     text NOT NULL,
    type_code  text NOT NULL,
    uses       bigint NOT NULL CHECK (uses > 0),
    PRIMARY KEY (day, department, region, type_code)
);
CREATE TABLE license_use_rollup (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    closed_through date
);
INSERT INTO license_use_rollup (singleton, closed_through) VALUES (true, NULL);
