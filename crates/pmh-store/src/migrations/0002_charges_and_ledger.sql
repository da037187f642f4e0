-- Window charges committed by receipt computers, one row per version of a visit: a correction
-- or a void is a new version, never an edit. The answer holds amounts and the trace, no
-- personal number.
CREATE TABLE charges (
    visit_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    voided       INTEGER NOT NULL DEFAULT 0,
    fingerprint  TEXT    NOT NULL,  -- SHA-256 of the request as parsed: the same commit again is idempotent
    month        TEXT    NOT NULL,  -- YYYY-MM
    answer       TEXT    NOT NULL,
    client       TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL,
    PRIMARY KEY (visit_id, version)
);
CREATE INDEX charges_at ON charges (at_ms);

-- The monthly cap ledger (自己負担上限額管理票) per certificate (`card`: HMAC of payer number and
-- recipient number) and month: this institution's committed visits (`source` own, with the
-- visit's version) and amounts entered from the paper 管理票 for other institutions (`other`).
-- A mistyped `other` row is voided by a row that names it in `voids` (never edited).
CREATE TABLE ledger_entries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    card         TEXT    NOT NULL,
    month        TEXT    NOT NULL,  -- YYYY-MM
    source       TEXT    NOT NULL CHECK (source IN ('own', 'other')),
    visit_id     TEXT,
    version      INTEGER,
    entry_date   TEXT    NOT NULL,  -- YYYY-MM-DD
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    total_cost   INTEGER CHECK (total_cost >= 0),
    care         TEXT    NOT NULL CHECK (care IN ('outpatient', 'inpatient')),
    institution  TEXT,
    cap          INTEGER,
    voids        INTEGER,           -- the id of the `other` row this one voids (purged with it)
    client       TEXT    NOT NULL,
    at_ms        INTEGER NOT NULL
);
CREATE UNIQUE INDEX ledger_voids ON ledger_entries (voids) WHERE voids IS NOT NULL;
CREATE INDEX ledger_card_month ON ledger_entries (card, month);
CREATE INDEX ledger_visit ON ledger_entries (visit_id, version);
CREATE INDEX ledger_at ON ledger_entries (at_ms);

CREATE TRIGGER charges_append_only BEFORE UPDATE ON charges
BEGIN
    SELECT RAISE(ABORT, 'charges are versioned, never changed');
END;
CREATE TRIGGER ledger_append_only BEFORE UPDATE ON ledger_entries
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;

-- Accesses about a certificate (charges, the ledger) name it by the same keyed hash.
ALTER TABLE audit ADD COLUMN card TEXT;
CREATE INDEX audit_card ON audit (card, at_ms);
