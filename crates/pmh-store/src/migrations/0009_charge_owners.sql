-- Each committed visit and each 管理票 entry belongs to the client that made it (`owner`). A
-- visit id is the receipt computer's own (two receipt computers may use the same one), so a
-- visit is keyed by its owner and its id; only its owner, or a client with `admin`, voids or
-- corrects it. Existing visits take the client of their earliest version, existing entries
-- their own client (or, for a visit's rows, the visit's owner).
--
-- The fingerprint is a keyed hash of the request and the answer is sealed (the gateway rewrites
-- rows of earlier builds, which held a plain SHA-256 and a plain answer, at its next start).
CREATE TABLE charges_owned (
    owner        TEXT    NOT NULL,
    visit_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    voided       INTEGER NOT NULL DEFAULT 0,
    fingerprint  TEXT    NOT NULL,  -- keyed hash of the request as parsed: the same commit again is idempotent
    month        TEXT    NOT NULL,  -- YYYY-MM
    answer       TEXT    NOT NULL,  -- sealed under a key derived from the owner and visit id
    client       TEXT    NOT NULL,  -- who wrote this version (the owner, or an admin)
    at_ms        INTEGER NOT NULL,
    PRIMARY KEY (owner, visit_id, version)
);
INSERT INTO charges_owned (owner, visit_id, version, voided, fingerprint, month, answer, client, at_ms)
    SELECT (SELECT f.client FROM charges f WHERE f.visit_id = c.visit_id ORDER BY f.version LIMIT 1),
           c.visit_id, c.version, c.voided, c.fingerprint, c.month, c.answer, c.client, c.at_ms
    FROM charges c;
DROP TABLE charges;
ALTER TABLE charges_owned RENAME TO charges;
CREATE INDEX charges_at ON charges (at_ms);
CREATE TRIGGER charges_append_only BEFORE UPDATE ON charges
BEGIN
    SELECT RAISE(ABORT, 'charges are versioned, never changed');
END;

DROP TRIGGER ledger_append_only;
ALTER TABLE ledger_entries ADD COLUMN owner TEXT NOT NULL DEFAULT '';
UPDATE ledger_entries SET owner = CASE source
    WHEN 'own' THEN COALESCE(
        (SELECT c.owner FROM charges c WHERE c.visit_id = ledger_entries.visit_id
         ORDER BY c.version LIMIT 1),
        client)
    ELSE client END;
DROP INDEX ledger_visit;
CREATE INDEX ledger_visit ON ledger_entries (owner, visit_id, version);
CREATE TRIGGER ledger_append_only BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
