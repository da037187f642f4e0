-- Leases: who does a job that one replica at a time may do (the face/ watcher). A lease is taken
-- when free or expired, renewed by its holder, and its term grows with each new holder.
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    term        INTEGER NOT NULL,
    expires_ms  INTEGER NOT NULL
);
-- Check-in files processed, by a keyed hash of their name and bytes, each committed in the
-- transaction of its prefetch's audit records: a file is recorded (and audited) once, whichever
-- replica read it and however often.
CREATE TABLE checkin_files (
    key      TEXT    PRIMARY KEY,
    at_ms    INTEGER NOT NULL,
    holder   TEXT    NOT NULL,
    records  INTEGER NOT NULL
);
CREATE INDEX checkin_files_at ON checkin_files (at_ms);
