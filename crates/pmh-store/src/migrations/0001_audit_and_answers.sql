-- The audit trail: one row per access, appended before the answer is sent. No personal
-- identifier in plain: `patient` and `reference` are HMAC-SHA256 hex under the store's secret.
CREATE TABLE audit (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT    NOT NULL,  -- RFC 3339, UTC
    at_ms        INTEGER NOT NULL,  -- milliseconds since the epoch, for ranges and retention
    client       TEXT    NOT NULL,
    operation    TEXT    NOT NULL,
    http_status  INTEGER,
    status       TEXT,
    source       TEXT,
    subsidies    INTEGER,
    check_id     TEXT,
    patient      TEXT,
    reference    TEXT,
    detail       TEXT
);
CREATE INDEX audit_at ON audit (at_ms);
CREATE INDEX audit_patient ON audit (patient, at_ms);
CREATE INDEX audit_reference ON audit (reference, at_ms);
CREATE INDEX audit_client ON audit (client, at_ms);

-- Append-only: no row is ever changed.
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit is append-only');
END;

-- Answers of earlier checks, kept for a limited time. They hold certificates (personal data):
-- the file is owner-only.
CREATE TABLE answers (
    check_id    TEXT    PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL,
    patient     TEXT,             -- HMAC of the insured identity, for the audit of a re-read
    body        TEXT    NOT NULL
);
CREATE INDEX answers_expiry ON answers (expires_ms);
