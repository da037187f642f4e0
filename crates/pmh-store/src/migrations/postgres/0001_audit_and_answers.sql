-- The audit trail: one row per access, appended before the answer is sent. No personal
-- identifier in plain: `patient` and `reference` are HMAC-SHA256 hex under the store's secret.
-- (PostgreSQL form of the SQLite migration of the same version and name.)
CREATE TABLE audit (
    seq          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           TEXT    NOT NULL,  -- RFC 3339, UTC
    at_ms        BIGINT  NOT NULL,  -- milliseconds since the epoch, for ranges and retention
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
CREATE FUNCTION pmhg_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE ON audit
    FOR EACH ROW EXECUTE FUNCTION pmhg_refuse_update('the audit is append-only');

-- Answers of earlier checks, kept for a limited time.
CREATE TABLE answers (
    check_id    TEXT    PRIMARY KEY,
    created_ms  BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL,
    patient     TEXT,             -- HMAC of the insured identity, for the audit of a re-read
    body        BYTEA   NOT NULL
);
CREATE INDEX answers_expiry ON answers (expires_ms);
