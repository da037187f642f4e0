-- The month-end receipt checks' reports (POST /v1/receipt-checks): sealed under a key derived
-- from the check's id, found by a keyed hash of it; removed at `expires_ms`, or kept (NULL) when
-- the clerk keeps one.
CREATE TABLE receipt_reports (
    key         TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    expires_ms  INTEGER,
    body        BLOB    NOT NULL
);
CREATE INDEX receipt_reports_expiry ON receipt_reports (expires_ms);
