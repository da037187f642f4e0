-- The month-end receipt checks' reports (PostgreSQL form of the SQLite migration of the same
-- version and name).
CREATE TABLE receipt_reports (
    key         TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    created_ms  BIGINT  NOT NULL,
    expires_ms  BIGINT,
    body        BYTEA   NOT NULL
);
CREATE INDEX receipt_reports_expiry ON receipt_reports (expires_ms);
