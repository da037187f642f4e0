-- Visits and 管理票 entries get their owner (PostgreSQL form of the SQLite migration of the same
-- version and name; the comments there explain it).
ALTER TABLE charges DISABLE TRIGGER charges_append_only;
ALTER TABLE charges ADD COLUMN owner TEXT;
UPDATE charges c SET owner = (SELECT f.client FROM charges f WHERE f.visit_id = c.visit_id
                              ORDER BY f.version LIMIT 1);
ALTER TABLE charges ALTER COLUMN owner SET NOT NULL;
ALTER TABLE charges DROP CONSTRAINT charges_pkey;
ALTER TABLE charges ADD PRIMARY KEY (owner, visit_id, version);
ALTER TABLE charges ENABLE TRIGGER charges_append_only;

ALTER TABLE ledger_entries DISABLE TRIGGER ledger_append_only;
ALTER TABLE ledger_entries ADD COLUMN owner TEXT NOT NULL DEFAULT '';
UPDATE ledger_entries l SET owner = CASE l.source
    WHEN 'own' THEN COALESCE(
        (SELECT c.owner FROM charges c WHERE c.visit_id = l.visit_id ORDER BY c.version LIMIT 1),
        l.client)
    ELSE l.client END;
DROP INDEX ledger_visit;
CREATE INDEX ledger_visit ON ledger_entries (owner, visit_id, version);
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_append_only;
