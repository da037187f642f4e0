-- The mapped part of an answer (its subsidies: the bulk of it) is kept once for all the checks
-- that gave the same answer from the cache, sealed (AES-256-GCM) under a random key that only
-- those checks' own sealed rows hold; each check keeps its own small part and the body's id.
CREATE TABLE answer_bodies (
    id          TEXT    PRIMARY KEY,
    created_ms  INTEGER NOT NULL,
    body        BLOB    NOT NULL
);
CREATE INDEX answer_bodies_created ON answer_bodies (created_ms);
ALTER TABLE answers ADD COLUMN body_id TEXT;
CREATE INDEX answers_body ON answers (body_id);
