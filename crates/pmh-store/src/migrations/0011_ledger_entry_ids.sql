-- A 管理票 entry may carry the client's own id for it: the same entry sent again (a retry) is
-- recognised by its owner and id, and its fingerprint (a keyed hash of the request) tells a
-- retry from another entry under the same id.
ALTER TABLE ledger_entries ADD COLUMN entry_id TEXT;
ALTER TABLE ledger_entries ADD COLUMN fingerprint TEXT;
CREATE UNIQUE INDEX ledger_entry_id ON ledger_entries (owner, entry_id) WHERE entry_id IS NOT NULL;
