-- The 照会番号 an access showed, beyond the one it was about (`audit.reference`): the reception
-- page's list of today's check-ins shows many at once. A search by 照会番号 finds the accesses
-- that showed it too, so "who saw this patient" includes them. Keyed hashes, as in the audit;
-- removed with their record by the retention purge.
CREATE TABLE audit_shown (
    audit_seq  INTEGER NOT NULL,
    reference  TEXT    NOT NULL,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX audit_shown_reference ON audit_shown (reference, at_ms);
CREATE INDEX audit_shown_seq ON audit_shown (audit_seq);
CREATE TRIGGER audit_shown_append_only BEFORE UPDATE ON audit_shown
BEGIN
    SELECT RAISE(ABORT, 'the audit is append-only');
END;
