-- Window charges committed by receipt computers, one row per version of a visit, and the monthly
-- cap ledger per certificate and month (PostgreSQL form of the SQLite migration of the same
-- version and name; the comments there explain every column).
CREATE TABLE charges (
    visit_id     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    voided       INTEGER NOT NULL DEFAULT 0,
    fingerprint  TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    answer       TEXT    NOT NULL,
    client       TEXT    NOT NULL,
    at_ms        BIGINT  NOT NULL,
    PRIMARY KEY (visit_id, version)
);
CREATE INDEX charges_at ON charges (at_ms);

CREATE TABLE ledger_entries (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    card         TEXT    NOT NULL,
    month        TEXT    NOT NULL,
    source       TEXT    NOT NULL CHECK (source IN ('own', 'other')),
    visit_id     TEXT,
    version      INTEGER,
    entry_date   TEXT    NOT NULL,
    amount       BIGINT  NOT NULL CHECK (amount >= 0),
    total_cost   BIGINT  CHECK (total_cost >= 0),
    care         TEXT    NOT NULL CHECK (care IN ('outpatient', 'inpatient')),
    institution  TEXT,
    cap          BIGINT,
    voids        BIGINT,
    client       TEXT    NOT NULL,
    at_ms        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX ledger_voids ON ledger_entries (voids) WHERE voids IS NOT NULL;
CREATE INDEX ledger_card_month ON ledger_entries (card, month);
CREATE INDEX ledger_visit ON ledger_entries (visit_id, version);
CREATE INDEX ledger_at ON ledger_entries (at_ms);

CREATE TRIGGER charges_append_only BEFORE UPDATE ON charges
    FOR EACH ROW EXECUTE FUNCTION pmhg_refuse_update('charges are versioned, never changed');
CREATE TRIGGER ledger_append_only BEFORE UPDATE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION pmhg_refuse_update('the ledger is append-only');

ALTER TABLE audit ADD COLUMN card TEXT;
CREATE INDEX audit_card ON audit (card, at_ms);
