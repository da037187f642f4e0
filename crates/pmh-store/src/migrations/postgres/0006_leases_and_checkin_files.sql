-- Leases and processed check-in files (PostgreSQL form of the SQLite migration of the same
-- version and name). A lease's expiry is on the database's clock, the one clock replicas share.
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    term        BIGINT  NOT NULL,
    expires_ms  BIGINT  NOT NULL
);
CREATE TABLE checkin_files (
    key      TEXT    PRIMARY KEY,
    at_ms    BIGINT  NOT NULL,
    holder   TEXT    NOT NULL,
    records  INTEGER NOT NULL
);
CREATE INDEX checkin_files_at ON checkin_files (at_ms);
