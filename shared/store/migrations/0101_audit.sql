-- The audit trail: one row per write a function answered with 2xx (who,
-- which function and route, the path with its record ids, when, and the
-- request id that ties it to the logs). Bodies are not kept: they hold
-- applicants' ID numbers, and the records they wrote are in their tables.
CREATE TABLE audit_log (
    audit_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    app_id     text NOT NULL,
    function   text NOT NULL,
    method     text NOT NULL,
    route      text NOT NULL,
    path       text NOT NULL,
    status     smallint NOT NULL,
    request_id text NOT NULL
);
CREATE INDEX audit_log_by_app ON audit_log (app_id, at);
CREATE INDEX audit_log_at ON audit_log (at);

-- Everything an auditor asks "who did what, when" about, in one place:
-- writes, license uses (用证) and attachment fetches, which their own
-- tables record in the transaction that hands the license or file out.
CREATE VIEW audit_trail AS
    SELECT at, app_id, function || ' ' || method || ' ' || path AS action, request_id
    FROM audit_log
    UNION ALL
    SELECT used_at, app_id, 'license use ' || license_no || ' for case ' || case_serial, NULL
    FROM license_uses
    UNION ALL
    SELECT f.fetched_at, f.app_id, 'attachment fetch ' || f.attachment_id || ' of case ' || c.serial, NULL
    FROM attachment_fetches f JOIN cases c USING (case_id);
