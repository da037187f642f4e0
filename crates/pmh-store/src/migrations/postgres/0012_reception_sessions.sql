-- The reception page's signed-in sessions (PostgreSQL form of the SQLite migration of the same
-- version and name).
CREATE TABLE reception_sessions (
    key        TEXT    PRIMARY KEY,
    client     TEXT    NOT NULL,
    opened_ms  BIGINT  NOT NULL,
    seen_ms    BIGINT  NOT NULL
);
CREATE INDEX reception_sessions_client ON reception_sessions (client, opened_ms);
