-- The reception page's signed-in sessions, shared by every replica and kept across restarts: a
-- session is known by a keyed hash of its cookie's id (never the id), with the client it acts
-- as, when it was opened and when it was last used. Expiry (idle, lifetime) is the gateway's.
CREATE TABLE reception_sessions (
    key        TEXT    PRIMARY KEY,
    client     TEXT    NOT NULL,
    opened_ms  INTEGER NOT NULL,
    seen_ms    INTEGER NOT NULL
);
CREATE INDEX reception_sessions_client ON reception_sessions (client, opened_ms);
